// GraphQL over HTTP to the same origin, with the session's bearer token. The token lives in
// sessionStorage (gone when the tab closes), never in a cookie or localStorage.
const TOKEN_KEY = "crm.explore.token";

export class ApiError extends Error {
  constructor(message, code, field) {
    super(message);
    this.code = code;
    this.field = field;
  }

  // The server has no such field yet (e.g. decision maps on an older API): a validation
  // error, which the page reports as "not available" instead of a failure.
  get missingField() {
    return /Cannot query field|Unknown type|Unknown argument/.test(this.message);
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forget() {
  sessionStorage.removeItem(TOKEN_KEY);
}

export async function graphql(query, variables = {}) {
  const headers = { "content-type": "application/json", accept: "application/json" };
  const bearer = token();
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST", headers, body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError("无法连接服务器", "NETWORK");
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`服务器返回 ${response.status}`, "INTERNAL");
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    const ext = first.extensions || {};
    if (ext.code === "UNAUTHENTICATED") forget();
    throw new ApiError(first.message, ext.code || "INTERNAL", ext.field);
  }
  return body.data;
}

const LOGIN = `mutation Login($u: String!, $p: String!) {
  login(input: {username: $u, password: $p}) { accessToken expiresAt } }`;

export async function login(username, password) {
  forget();
  const data = await graphql(LOGIN, { u: username, p: password });
  sessionStorage.setItem(TOKEN_KEY, data.login.accessToken);
}

export async function logout() {
  try {
    await graphql("mutation Logout { logout { ok } }");
  } finally {
    forget();
  }
}
