// GraphQL over HTTP to the same origin, with the session's bearer token. The tokens live in
// sessionStorage (gone when the tab closes), never in a cookie or localStorage. An access token
// lasts minutes: when the server refuses it, the single-use refresh token buys one new pair.
const TOKEN_KEY = "crm.explore.token";
const REFRESH_KEY = "crm.explore.refresh";

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
  sessionStorage.removeItem(REFRESH_KEY);
}

function keep(pair) {
  sessionStorage.setItem(TOKEN_KEY, pair.accessToken);
  sessionStorage.setItem(REFRESH_KEY, pair.refreshToken);
}

const REFRESH = `mutation Refresh($t: String!) {
  tokenRefresh(input: {refreshToken: $t}) { accessToken refreshToken } }`;
let refreshing = null;

// One refresh at a time: concurrent views that all met an expired token share it.
async function refreshed() {
  const refresh = sessionStorage.getItem(REFRESH_KEY);
  if (!refresh) return false;
  refreshing = refreshing || send(REFRESH, { t: refresh }, null)
    .then((data) => { keep(data.tokenRefresh); return true; })
    .catch(() => false)
    .finally(() => { refreshing = null; });
  return refreshing;
}

export async function graphql(query, variables = {}) {
  const bearer = token();
  try {
    return await send(query, variables, bearer);
  } catch (error) {
    if (error.code !== "UNAUTHENTICATED" || !bearer) throw error;
    if (token() === bearer && !(await refreshed())) {
      forget();
      throw error;
    }
    return send(query, variables, token());
  }
}

async function send(query, variables, bearer) {
  const headers = { "content-type": "application/json", accept: "application/json" };
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
    throw new ApiError(first.message, ext.code || "INTERNAL", ext.field);
  }
  return body.data;
}

const LOGIN = `mutation Login($u: String!, $p: String!) {
  login(input: {username: $u, password: $p}) { accessToken refreshToken } }`;

export async function login(username, password) {
  forget();
  keep((await send(LOGIN, { u: username, p: password }, null)).login);
}

export async function logout() {
  try {
    await graphql("mutation Logout { logout { ok } }");
  } finally {
    forget();
  }
}
