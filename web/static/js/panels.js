// The side panels of the decision map: coverage, the people list (the keyboard way into the
// graph), a selected person's score explained, and introduction paths.
import { el, lockIcon, muted, replace } from "./dom.js";
import {
  CHANNEL, DIRECTION, KIND, NODE_KIND, RESTRICTED, ROLE, STANCE, percent,
} from "./labels.js";

function roleList(roles) {
  return roles.length ? roles.map((role) => ROLE[role] || role).join("、") : "—";
}

export function drawCoverage(container, map, names) {
  const { coverage } = map;
  const unreachable = coverage.unreachableDecisionMakers.map((id) => names.get(id) || RESTRICTED);
  replace(container,
    el("p", { class: "big", dataset: { completeness: coverage.completeness } },
      `完整度 ${Number(coverage.completeness).toFixed(0)}%`),
    el("dl", { class: "facts" },
      el("dt", {}, "已覆盖角色"), el("dd", {}, roleList(coverage.filledRoles)),
      el("dt", {}, "缺失角色"), el("dd", { class: "warn" }, roleList(coverage.missingRoles)),
      el("dt", {}, "无人可达的决策者"), el("dd", { class: "warn" }, unreachable.join("、") || "—"),
      el("dt", {}, "覆盖缺口"),
      el("dd", {}, map.gaps.map((gap) => `${names.get(gap.id) || RESTRICTED}：${gap.reason}`)
        .join("；") || "—"),
      el("dt", {}, "关键中间人"),
      el("dd", {}, map.brokers.map((broker) => `${names.get(broker.id) || RESTRICTED}`
        + `（中介度 ${broker.betweenness.toFixed(2)}）`).join("、") || "—")),
    map.computedAt ? muted(`影响力计算于 ${map.computedAt.replace("T", " ").slice(0, 16)}`) : null);
}

export function drawPeople(container, nodes, selected, onSelect) {
  const order = (node) => [node.kind === "STAFF" ? 2 : node.restricted ? 1 : 0,
    -(node.influence || 0)];
  const sorted = [...nodes].sort((a, b) => {
    const [x, y] = [order(a), order(b)];
    return x[0] - y[0] || x[1] - y[1];
  });
  replace(container, sorted.map((node) => el("li", {},
    el("button", { type: "button", class: node.id === selected ? "person on" : "person",
      "aria-pressed": String(node.id === selected), dataset: { id: node.id },
      onclick: () => onSelect(node.id) },
    node.restricted ? [lockIcon(), RESTRICTED] : node.name,
    el("span", { class: "muted" }, node.restricted ? "" : ` ${NODE_KIND[node.kind]}`
      + (node.role ? ` · ${ROLE[node.role]}` : "")
      + (node.influence !== null && node.influence !== undefined
        ? ` · ${node.influence.toFixed(2)}` : ""))))));
}

export function drawDetail(container, node, names, onPaths) {
  if (!node) {
    replace(container, muted("在图中或下方名单里选择一个人。"));
    return;
  }
  if (node.restricted) {
    replace(container, el("p", { class: "locked" }, lockIcon(),
      "此人不在您的权限范围内，只显示其在图中的位置。"));
    return;
  }
  const facts = el("dl", { class: "facts" },
    el("dt", {}, "类型"), el("dd", {}, NODE_KIND[node.kind]),
    el("dt", {}, "职务"), el("dd", {}, node.title || "—"),
    el("dt", {}, "角色"), el("dd", {}, roleList(node.roles)),
    el("dt", {}, "态度"), el("dd", {}, node.stance ? STANCE[node.stance] : "—"),
    el("dt", {}, "影响力"), el("dd", {}, node.influence === null || node.influence === undefined
      ? "—" : node.influence.toFixed(3)),
    el("dt", {}, "最近联系"), el("dd", {}, node.lastContactAt || "—"));
  const rows = node.explanation.map((part) => el("li", {},
    `${names.get(part.fromId) || RESTRICTED} → ${names.get(part.toId) || RESTRICTED}`,
    el("span", { class: "muted" }, ` ${KIND[part.kind]} · 权重 ${part.weight.toFixed(2)}`),
    el("strong", {}, ` 占 ${percent(part.share)}`)));
  const explanation = node.explanation.length
    ? [el("h3", {}, "影响力构成"), el("ol", { class: "explain" }, rows)]
    : [muted("没有可解释的影响力来源。")];
  const action = node.kind === "CONTACT"
    ? el("button", { type: "button", id: "find-paths", onclick: () => onPaths(node) },
      (node.roles || []).includes("DECISION_MAKER") ? "查找到这位决策者的引荐路径" : "查找引荐路径")
    : null;
  replace(container, el("h3", {}, node.name), facts, explanation, action);
}

export function drawPaths(container, target, paths, onShow) {
  if (!paths.length) {
    replace(container, muted(`没有从您到 ${target.name} 的可见引荐路径（最多 3 跳）。`));
    return;
  }
  const items = paths.map((path, index) => el("li", {},
    el("button", { type: "button", class: "link", dataset: { path: index },
      onclick: () => onShow(path) },
    `强度 ${path.strength.toFixed(3)}：`,
    path.nodes.map((node) => node.name || NODE_KIND.RESTRICTED).join(" → "))));
  replace(container, el("h3", {}, `到 ${target.name} 的引荐路径`), el("ol", {}, items));
}

export function drawInteractions(container, connection) {
  if (!connection.edges.length) {
    replace(container, muted("这一时点之前没有互动记录。"));
    return;
  }
  replace(container, el("ul", { class: "interactions" }, connection.edges.map(({ node }) => el(
    "li", { dataset: { id: node.id } },
    el("span", { class: "tag" }, CHANNEL[node.channel] || node.channel), " ",
    node.subject || "（无主题）",
    el("span", { class: "muted" }, ` ${node.occurredAt.slice(0, 10)} · `
      + `${DIRECTION[node.direction] || node.direction}`)))));
}
