// The group structure around an account: shareholders above, subsidiaries below, each with
// the effective ownership the API computed; accounts outside the reader's scope are locked.
import { el, lockIcon, replace } from "./dom.js";
import { RESTRICTED, ownership } from "./labels.js";

function member(item, direction, open) {
  const { account } = item;
  const share = direction === "up" ? `持有本公司 ${ownership(item.effectiveOwnership)}`
    : `本公司持有 ${ownership(item.effectiveOwnership)}`;
  const label = account.restricted
    ? el("span", { class: "locked" }, lockIcon(), RESTRICTED)
    : el("button", { type: "button", class: "link", onclick: () => open(account.id) },
      account.name);
  const region = account.restricted ? null : el("span", { class: "tag" }, account.region);
  return el("li", {
    class: account.restricted ? "member restricted" : "member",
    dataset: { id: account.id, restricted: String(account.restricted), depth: item.depth,
      ownership: item.effectiveOwnership },
  }, label, " ", region, el("span", { class: "share" }, share));
}

function levels(items, direction, open) {
  const byDepth = new Map();
  for (const item of items) {
    if (!byDepth.has(item.depth)) byDepth.set(item.depth, []);
    byDepth.get(item.depth).push(item);
  }
  const depths = [...byDepth.keys()].sort((a, b) => (direction === "up" ? b - a : a - b));
  return depths.map((depth) => el("li", { class: "level" },
    el("span", { class: "depth" }, direction === "up" ? `上 ${depth} 层` : `下 ${depth} 层`),
    el("ul", {}, byDepth.get(depth).map((item) => member(item, direction, open)))));
}

export function drawTree(container, account, open) {
  const { ancestors, descendants } = account.groupTree;
  const self = el("li", { class: "level self" },
    el("span", { class: "depth" }, "本公司"),
    el("ul", {}, el("li", { class: "member current", dataset: { id: account.id } },
      el("strong", {}, account.name), " ", el("span", { class: "tag" }, account.region))));
  const list = el("ul", { class: "levels", "aria-label": "集团结构" },
    levels(ancestors, "up", open), self, levels(descendants, "down", open));
  const summary = el("p", { class: "muted" },
    `上级股东 ${ancestors.length} 家，下属企业 ${descendants.length} 家`);
  replace(container, summary, list);
}
