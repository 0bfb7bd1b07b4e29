// The buying committee as a graph: size = influence, colour = stance, shape = role, edges by
// kind (colour, dash) and weight (width); brokers haloed, gaps ringed, stubs locked.
import cytoscape from "../vendor/cytoscape.esm.min.mjs";
import { COLOUR, EDGE_COLOUR, KIND, NODE_KIND, RESTRICTED, SHAPE } from "./labels.js";
import { STYLE } from "./style.js";

const DECIDES = "DECISION_MAKER";

function size(node) {
  if (node.kind !== "CONTACT" || node.influence === null || node.influence === undefined) {
    return 26;
  }
  return Math.round(22 + 48 * Math.max(0, Math.min(1, node.influence)));
}

// Starting rings (decision makers in the middle, the committee around them by influence,
// everyone else outside, our own staff on the rim), then a force layout from there: the same
// map is always drawn the same way.
function ring(node) {
  if (node.kind === "STAFF") return 0;
  if (node.kind === "RESTRICTED" || !node.role) return 1;
  if ((node.roles || []).includes(DECIDES)) return 4;
  return (node.influence || 0) >= 0.5 ? 3 : 2;
}

function nodeElement(node, brokers, gaps) {
  const classes = [node.kind.toLowerCase()];
  if (node.restricted) classes.push("restricted");
  if (brokers.has(node.id)) classes.push("broker");
  if (gaps.has(node.id)) classes.push("gap");
  const label = node.restricted ? NODE_KIND.RESTRICTED
    : [node.name, node.title].filter(Boolean).join("\n");
  return {
    group: "nodes", classes,
    data: { id: node.id, label, size: size(node), ring: ring(node),
      shape: SHAPE[node.role] || "ellipse", colour: COLOUR[node.stance] || COLOUR.UNKNOWN,
      name: node.restricted ? RESTRICTED : node.name },
  };
}

function edgeElement(edge, index) {
  return {
    group: "edges", classes: [edge.kind],
    data: { id: edge.id ? `edge:${edge.id}` : `e${index}`, source: edge.fromId, target: edge.toId, kind: edge.kind,
      width: 1 + 5 * Math.max(0, Math.min(1, edge.weight ?? 0.2)),
      colour: EDGE_COLOUR[edge.kind] || "#888888", label: KIND[edge.kind] || "" },
  };
}

export class DecisionMapView {
  constructor(container, onSelect) {
    this.cy = cytoscape({ container, style: STYLE, elements: [],
      minZoom: 0.2, maxZoom: 3, boxSelectionEnabled: false, autoungrabify: false });
    this.cy.on("tap", "node", (event) => onSelect(event.target.id()));
    this.cy.on("tap", (event) => { if (event.target === this.cy) onSelect(null); });
    this.map = null;
  }

  // Draws `map` (contract D's DecisionMap); resolves once the canvas has painted.
  draw(map) {
    this.map = map;
    const brokers = new Set(map.brokers.map((broker) => broker.id));
    const gaps = new Set(map.gaps.map((gap) => gap.id));
    // Cytoscape refuses a second element with the same id: draw each node and edge once.
    const nodes = [...new Map(map.nodes.map((node) => [node.id, node])).values()];
    const known = new Set(nodes.map((node) => node.id));
    const edges = [...new Map(map.edges.map((edge, index) => [edge.id || `e${index}`, edge]))
      .values()].filter((edge) => known.has(edge.fromId) && known.has(edge.toId));
    this.cy.resize(); // the container may have been hidden until now
    this.cy.batch(() => {
      this.cy.elements().remove();
      this.cy.add(nodes.map((node) => nodeElement(node, brokers, gaps)));
      this.cy.add(edges.map(edgeElement));
    });
    this.cy.layout({ name: "concentric", concentric: (node) => node.data("ring"),
      levelWidth: () => 1, minNodeSpacing: 40, animate: false, fit: false }).run();
    this.cy.layout({ name: "cose", randomize: false, animate: false, fit: true, padding: 30,
      nodeRepulsion: () => 9000, idealEdgeLength: () => 90, numIter: 600 }).run();
    return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  }

  clear() {
    this.map = null;
    this.cy.elements().remove();
  }

  nodeIds() {
    return this.cy.nodes().not(".extra").map((node) => node.id()).sort();
  }

  // What is drawn, for tests: nodes with their drawing attributes, edges, the path shown.
  describe() {
    return {
      nodes: this.cy.nodes().not(".extra").map((node) => ({ id: node.id(),
        shape: node.data("shape"), colour: node.data("colour"), size: node.data("size"),
        restricted: node.hasClass("restricted"), broker: node.hasClass("broker"),
        gap: node.hasClass("gap") })),
      edges: this.cy.edges().not(".added").map((edge) => ({ fromId: edge.data("source"),
        toId: edge.data("target"), kind: edge.data("kind") })),
      path: this.cy.nodes(".path").map((node) => node.id()).sort(),
    };
  }

  resetHighlights() {
    this.cy.remove(".extra, edge.added");
    this.cy.elements().removeClass("faded explain path");
  }

  select(id) {
    this.resetHighlights();
    this.cy.nodes().unselect();
    if (id) this.cy.getElementById(id).select();
  }

  // Emphasises the edges along the contributions that explain a member's score.
  explain(contributions) {
    this.cy.elements().addClass("faded");
    for (const part of contributions) {
      const hops = part.path && part.path.length > 1 ? part.path : [part.fromId, part.toId];
      for (let i = 0; i < hops.length; i += 1) {
        this.cy.getElementById(hops[i]).removeClass("faded");
        if (i > 0) this.edgesBetween(hops[i - 1], hops[i]).removeClass("faded").addClass("explain");
      }
    }
  }

  edgesBetween(from, to) {
    return this.cy.edges().filter((edge) => edge.data("source") === from
      && edge.data("target") === to);
  }

  // Draws an introduction path: people off the map (our staff, other accounts) are added.
  showPath(path) {
    this.resetHighlights();
    const extra = path.nodes.filter((node) => this.cy.getElementById(node.id).empty());
    this.cy.add(extra.map((node) => ({ group: "nodes", classes: ["extra"],
      data: { id: node.id, label: node.name || NODE_KIND.RESTRICTED, size: 24, ring: 0,
        shape: "round-tag", colour: "#34495e" } })));
    // Off-map people sit beside the map, left of its leftmost node.
    const box = this.cy.nodes().not(".extra").boundingBox();
    extra.forEach((node, index) => {
      this.cy.getElementById(node.id).position({ x: box.x1 - 90, y: box.y1 + 70 * index });
    });
    this.cy.elements().addClass("faded");
    path.edges.forEach((edge, index) => {
      let drawn = this.edgesBetween(edge.fromId, edge.toId);
      if (drawn.empty()) {
        drawn = this.cy.add({ group: "edges", classes: [edge.kind, "added"],
          data: { id: `path-${index}-${edge.fromId}-${edge.toId}`, source: edge.fromId,
            target: edge.toId, width: 6, colour: EDGE_COLOUR[edge.kind] || "#888888",
            label: KIND[edge.kind] || "" } });
      }
      drawn.removeClass("faded").addClass("path");
    });
    for (const node of path.nodes) this.cy.getElementById(node.id).removeClass("faded").addClass("path");
    this.cy.fit(this.cy.elements(".path"), 40);
  }
}
