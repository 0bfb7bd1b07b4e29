// The supply chain around an account (suppliers upstream, customers downstream), and for
// every disrupted supplier the exposure it propagates, tier by tier.
import cytoscape from "../vendor/cytoscape.esm.min.mjs";
import { el, lockIcon, muted, replace } from "./dom.js";
import { CRITICALITY, CRITICALITY_WIDTH, EDGE_COLOUR, RESTRICTED } from "./labels.js";
import { STYLE } from "./style.js";

function accountNode(account, currentId) {
  const classes = [];
  if (account.restricted) classes.push("restricted");
  if (account.id === currentId) classes.push("current");
  if (account.disruption) classes.push("disrupted");
  return { group: "nodes", classes,
    data: { id: account.id, label: account.restricted ? "受限" : account.name, size: 30,
      shape: "round-rectangle", colour: account.id === currentId ? "#4f7cac" : "#8fa9c4" } };
}

function linkEdge(link) {
  const share = link.share === null || link.share === undefined ? "" : ` ${Number(link.share)}%`;
  return { group: "edges", classes: ["SUPPLIES", link.criticality],
    data: { id: `${link.fromId}>${link.toId}`, source: link.fromId, target: link.toId,
      width: CRITICALITY_WIDTH[link.criticality] || 2, colour: EDGE_COLOUR.SUPPLIES,
      label: `${CRITICALITY[link.criticality] || ""}${share}` } };
}

export class SupplyView {
  constructor(container) {
    this.cy = cytoscape({ container, style: STYLE, elements: [], minZoom: 0.2, maxZoom: 3,
      boxSelectionEnabled: false });
  }

  // `account` carries `upstream` and `downstream` ([SupplyLink]); returns the accounts drawn.
  draw(account) {
    const links = [...account.upstream, ...account.downstream];
    const accounts = new Map([[account.id, { ...account, restricted: false }]]);
    for (const link of links) if (!accounts.has(link.account.id)) accounts.set(link.account.id, link.account);
    const edges = new Map();
    for (const link of links) {
      if (accounts.has(link.fromId) && accounts.has(link.toId)) edges.set(`${link.fromId}>${link.toId}`, link);
    }
    this.cy.resize(); // the container may have been hidden until now
    this.cy.batch(() => {
      this.cy.elements().remove();
      this.cy.add([...accounts.values()].map((item) => accountNode(item, account.id)));
      this.cy.add([...edges.values()].map(linkEdge));
    });
    this.cy.layout({ name: "breadthfirst", directed: true, spacingFactor: 1.1, animate: false,
      fit: true, padding: 20 }).run();
    return [...accounts.values()];
  }

  clear() {
    this.cy.elements().remove();
  }

  nodeIds() {
    return this.cy.nodes().map((node) => node.id()).sort();
  }

  markExposed(ids) {
    this.cy.nodes().removeClass("exposed");
    for (const id of ids) this.cy.getElementById(id).addClass("exposed");
  }
}

export function drawExposure(container, currentId, disrupted) {
  if (!disrupted.length) {
    replace(container, muted("供应链中没有标记为中断的供应商。"));
    return;
  }
  replace(container, disrupted.map(({ supplier, exposure }) => {
    const mine = exposure.find((item) => item.account.id === currentId);
    const rows = exposure.map((item) => el("tr", { dataset: { id: item.account.id } },
      el("td", {}, item.account.restricted ? [lockIcon(), RESTRICTED] : item.account.name),
      el("td", {}, `第 ${item.tier} 级`), el("td", {}, item.score.toFixed(3)),
      el("td", {}, item.path.map((step) => (step.restricted ? "受限" : step.name)).join(" → "))));
    return el("section", { class: "exposure" },
      el("h3", {}, `${supplier.name} 已中断：${supplier.disruption.reason}`
        + `（自 ${supplier.disruption.since}）`),
      mine ? el("p", { class: "warn" }, `本公司暴露度 ${mine.score.toFixed(3)}（第 ${mine.tier} 级）`)
        : muted("本公司不在其暴露范围内。"),
      el("table", {}, el("caption", {}, "受影响客户"),
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "客户"),
          el("th", { scope: "col" }, "层级"), el("th", { scope: "col" }, "暴露度"),
          el("th", { scope: "col" }, "传导路径"))),
        el("tbody", {}, rows)));
  }));
}
