// The explorer: log in, find an account, draw its group, decision map and supply chain, all
// through the public GraphQL API with the user's own token.
import { ApiError, graphql, login, logout, token } from "./api.js";
import { el, muted, replace } from "./dom.js";
import { isoDate } from "./labels.js";
import { DecisionMapView } from "./map.js";
import {
  drawCoverage, drawDetail, drawInteractions, drawPaths, drawPeople,
} from "./panels.js";
import * as Q from "./queries.js";
import { SupplyView, drawExposure } from "./supply.js";
import { drawTree } from "./tree.js";

performance.mark("explore:boot");
const $ = (id) => document.getElementById(id);
const state = { me: null, account: null, map: null, selected: null, asOf: null, firstMap: true,
  requests: {} };

// A view's answer counts only if no later request of the same view was sent meanwhile (a new
// account or asOf): `current()` says whether this one is still the latest.
function ticket(view) {
  const mine = (state.requests[view] || 0) + 1;
  state.requests[view] = mine;
  return () => state.requests[view] === mine;
}
let mapView = null;
let supplyView = null;

const MESSAGES = { UNAUTHENTICATED: "登录已失效，请重新登录。", FORBIDDEN: "您无权执行此操作。",
  NOT_FOUND: "未找到该记录，或不在您的权限范围内。", RATE_LIMITED: "请求过于频繁，请稍后再试。",
  UNAVAILABLE: "服务暂时不可用，请稍后再试。", NETWORK: "无法连接服务器。" };

function status(text) {
  $("status").textContent = text || "";
}

function explain(error) {
  if (!(error instanceof ApiError)) return `页面出错：${error.message}`;
  return MESSAGES[error.code] || error.message;
}

// Every handler reports its failure on the page instead of throwing into the console.
function guarded(handler) {
  return async (...args) => {
    try {
      await handler(...args);
    } catch (error) {
      status(explain(error));
      if (error instanceof ApiError && error.code === "UNAUTHENTICATED") showLogin();
    }
  };
}

function showLogin() {
  $("login-view").hidden = false;
  $("explore-view").hidden = true;
  $("who").hidden = true;
  $("username").focus();
}

async function showExplorer() {
  state.me = (await graphql(Q.ME)).me;
  if (!state.me) throw new ApiError("UNAUTHENTICATED", "UNAUTHENTICATED");
  $("login-view").hidden = true;
  $("explore-view").hidden = false;
  $("who").hidden = false;
  $("who-name").textContent = `${state.me.username}（${state.me.regions.join("、") || "全部区域"}）`;
  mapView = mapView || new DecisionMapView($("map"), guarded(select));
  supplyView = supplyView || new SupplyView($("supply"));
  const wanted = new URLSearchParams(location.hash.slice(1));
  if (wanted.get("asOf")) setAsOf(wanted.get("asOf"));
  if (wanted.get("account")) await openAccount(wanted.get("account"));
  else $("search").focus();
}

async function search(event) {
  event.preventDefault();
  const text = $("search").value.trim();
  if (!text) return;
  const { accounts } = await graphql(Q.SEARCH, { q: text });
  $("search-count").textContent = `找到 ${accounts.totalCount} 家客户`;
  replace($("results"), accounts.edges.map(({ node }) => el("li", {},
    el("button", { type: "button", class: "result", dataset: { id: node.id },
      onclick: guarded(() => openAccount(node.id)) },
    node.name, el("span", { class: "muted" }, ` ${node.region} · ${node.industry}`)))));
}

function remember() {
  const params = new URLSearchParams({ account: state.account.id });
  if (state.asOf) params.set("asOf", state.asOf);
  history.replaceState(null, "", `#${params}`);
}

async function openAccount(id) {
  performance.mark("explore:open");
  status("");
  const current = ticket("account");
  const { account } = await graphql(Q.ACCOUNT, { id });
  if (!current()) return;
  if (!account) throw new ApiError("NOT_FOUND", "NOT_FOUND");
  state.account = account;
  state.map = null;
  state.selected = null;
  remember();
  $("account-card").hidden = false;
  $("account-name").textContent = account.name;
  $("account-meta").textContent = `${account.region} · ${account.industry} · 联系人 `
    + `${account.contacts.totalCount} 人`;
  drawTree($("tree"), account, guarded(openAccount));
  performance.mark("explore:tree-drawn");
  drawDetail($("detail"), null);
  replace($("paths"));
  await Promise.all([guarded(loadMap)(), guarded(loadSupply)(), guarded(loadInteractions)()]);
  performance.mark("explore:settled");
}

function contactsAsNodes(account) {
  return account.contacts.edges.map(({ node }) => ({ id: node.id, kind: "CONTACT",
    name: node.name, title: node.title, influence: null, role: null, roles: [], stance: null,
    lastContactAt: null, restricted: false, explanation: [] }));
}

function names() {
  const found = new Map();
  for (const node of state.map ? state.map.nodes : []) if (node.name) found.set(node.id, node.name);
  if (state.me) found.set(state.me.id, `我（${state.me.username}）`);
  return found;
}

// An operation on fields an older server lacks: null, after `missing()` said so on the page.
async function unlessMissing(query, variables, missing) {
  try {
    return await graphql(query, variables);
  } catch (error) {
    if (!(error instanceof ApiError && error.missingField)) throw error;
    missing();
    return null;
  }
}

async function loadMap() {
  const current = ticket("map");
  const account = state.account;
  const data = await unlessMissing(Q.DECISION_MAP, { id: account.id, asOf: state.asOf }, () => {
    mapView.clear();
    $("map").hidden = true;
    $("map-notice").textContent = "此服务器尚未提供决策图（decisionMap），仅显示联系人名单。";
    drawPeople($("people"), contactsAsNodes(account), null, guarded(select));
  });
  if (!data) return;
  if (!current()) return;
  state.map = data.account.decisionMap;
  $("map").hidden = false;
  $("map-notice").textContent = state.map.nodes.length ? ""
    : `${state.map.asOf} 时该客户还没有采购决策图。`;
  await mapView.draw(state.map);
  if (state.firstMap) {
    state.firstMap = false;
    performance.mark("explore:first-map");
  }
  performance.mark("explore:map-drawn");
  $("map").setAttribute("aria-label", `采购决策图：${state.map.nodes.length} 人，`
    + `${state.map.edges.length} 条关系，时点 ${state.map.asOf}`);
  drawCoverage($("coverage"), state.map, names());
  const keep = state.map.nodes.some((node) => node.id === state.selected) ? state.selected : null;
  await select(keep);
}

async function select(id) {
  state.selected = id;
  // An account without a committee on that day still lists its contacts.
  const onMap = Boolean(state.map && state.map.nodes.length);
  const nodes = onMap ? state.map.nodes : contactsAsNodes(state.account);
  const node = nodes.find((item) => item.id === id) || null;
  if (onMap) {
    mapView.select(node ? id : null);
    if (node && node.explanation.length) mapView.explain(node.explanation);
  }
  drawPeople($("people"), nodes, id, guarded(select));
  drawDetail($("detail"), onMap ? node : null, names(), guarded(findPaths));
  replace($("paths"));
}

async function findPaths(node) {
  const { introductionPaths } = await graphql(Q.INTRODUCTION_PATHS,
    { to: node.id, asOf: state.asOf });
  drawPaths($("paths"), node, introductionPaths, (path) => mapView.showPath(path));
  if (introductionPaths.length) mapView.showPath(introductionPaths[0]);
}

async function loadSupply() {
  const current = ticket("supply");
  const account = state.account;
  const data = await unlessMissing(Q.SUPPLY_CHAIN, { id: account.id, asOf: state.asOf }, () => {
    supplyView.clear();
    $("supply").hidden = true;
    $("supply-notice").textContent = "此服务器尚未提供供应链（supplyChain）。";
    replace($("exposure"));
  });
  if (!data) return;
  if (!current()) return;
  $("supply").hidden = false;
  const drawn = supplyView.draw(data.account);
  $("supply-notice").textContent = drawn.length > 1 ? "" : "该客户没有已登记的供应关系。";
  const disrupted = drawn.filter((item) => !item.restricted && item.disruption);
  const exposures = await Promise.all(disrupted.slice(0, 3).map(async (supplier) => ({
    supplier, exposure: (await graphql(Q.EXPOSURE, { id: supplier.id, asOf: state.asOf }))
      .exposure })));
  if (!current()) return;
  supplyView.markExposed(exposures.flatMap((item) => item.exposure.map((hit) => hit.account.id)));
  drawExposure($("exposure"), account.id, exposures);
}

async function loadInteractions() {
  const current = ticket("interactions");
  const account = state.account;
  const data = await unlessMissing(Q.INTERACTIONS, { id: account.id, until: state.asOf },
    () => replace($("interactions"), muted("此服务器尚未提供互动记录（interactions）。")));
  if (data && current()) {
    drawInteractions($("interactions"), data.account.interactions);
  }
}

const DAY = 24 * 3600 * 1000;

function setAsOf(iso) {
  const days = Math.round((Date.parse(iso) - Date.parse(isoDate(new Date()))) / DAY);
  if (Number.isNaN(days)) return;
  $("asof").value = String(Math.max(Number($("asof").min), Math.min(0, days)));
  showAsOf();
}

function showAsOf() {
  const days = Number($("asof").value);
  state.asOf = days === 0 ? null : isoDate(new Date(Date.now() + days * DAY));
  $("asof-value").textContent = state.asOf ? state.asOf : `今天 ${isoDate(new Date())}`;
}

let redraw = null;
function asOfChanged() {
  showAsOf();
  clearTimeout(redraw);
  redraw = setTimeout(guarded(async () => {
    if (!state.account) return;
    remember();
    await Promise.all([guarded(loadMap)(), guarded(loadSupply)(),
      guarded(loadInteractions)()]);
  }), 250);
}

function bind() {
  $("login-form").addEventListener("submit", guarded(async (event) => {
    event.preventDefault();
    status("");
    await login($("username").value.trim(), $("password").value);
    $("password").value = "";
    await showExplorer();
  }));
  $("logout").addEventListener("click", guarded(async () => {
    await logout();
    location.hash = "";
    showLogin();
  }));
  $("search-form").addEventListener("submit", guarded(search));
  $("asof").addEventListener("input", asOfChanged);
  $("asof-today").addEventListener("click", () => {
    $("asof").value = "0";
    asOfChanged();
  });
  showAsOf();
}

// The page's state for tests and the bench: what is drawn right now.
window.explorer = {
  state,
  drawn: () => ({
    tree: [...document.querySelectorAll("#tree .member")].map((item) => ({
      id: item.dataset.id, restricted: item.dataset.restricted === "true",
      ownership: item.dataset.ownership ?? null,
      name: item.querySelector("button, strong")?.textContent ?? null })),
    map: mapView ? mapView.nodeIds() : [],
    details: mapView ? mapView.describe() : null,
    supply: supplyView ? supplyView.nodeIds() : [],
  }),
};

bind();
if (token()) guarded(showExplorer)();
else showLogin();
replace($("coverage"), muted("—"));
