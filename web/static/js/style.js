// Cytoscape styles shared by the decision map and the supply chain.
const LOCK_SVG = "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>"
  + "<path fill='#4a525c' d='M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7zm2 0h4V5a2 2 0 0 0-4 0z'/></svg>";
export const LOCK_IMAGE = `data:image/svg+xml;utf8,${encodeURIComponent(LOCK_SVG)}`;
export const FONT = '"WenQuanYi Zen Hei", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif';

export const STYLE = [
  { selector: "node", style: {
    label: "data(label)", "font-family": FONT, "font-size": 11, color: "#1f2933",
    "text-valign": "bottom", "text-margin-y": 4, "text-wrap": "wrap", "text-max-width": 110,
    width: "data(size)", height: "data(size)", shape: "data(shape)",
    "background-color": "data(colour)", "border-width": 1, "border-color": "#ffffff" } },
  { selector: "node.staff, node.extra", style: {
    shape: "round-tag", "background-color": "#34495e", width: 24, height: 24 } },
  { selector: "node.extra", style: { "border-style": "dashed", "border-color": "#c2185b",
    "border-width": 2 } },
  { selector: "node.restricted", style: {
    shape: "round-rectangle", "background-color": "#e3e6ea", "background-image": LOCK_IMAGE,
    "background-fit": "none", "background-width": "60%", "background-height": "60%",
    "border-style": "dashed", "border-color": "#7a828c", "border-width": 2, width: 28,
    height: 28 } },
  { selector: "node.current", style: { "border-color": "#1f2933", "border-width": 3 } },
  { selector: "node.disrupted", style: { "border-color": "#d1463b", "border-width": 5,
    "border-style": "double" } },
  { selector: "node.exposed", style: { "background-color": "#f0a23b" } },
  { selector: "node.broker", style: { "underlay-color": "#8a4fd6", "underlay-padding": 7,
    "underlay-opacity": 0.35, "underlay-shape": "ellipse" } },
  { selector: "node.gap", style: { "border-color": "#d1463b", "border-width": 5,
    "border-style": "double" } },
  { selector: "node:selected", style: { "border-color": "#111111", "border-width": 4,
    "border-style": "solid" } },
  { selector: "edge", style: {
    "curve-style": "bezier", "target-arrow-shape": "triangle", width: "data(width)",
    "line-color": "data(colour)", "target-arrow-color": "data(colour)", opacity: 0.85,
    "arrow-scale": 0.9, label: "data(label)", "font-family": FONT, "font-size": 9,
    color: "#52606d", "text-rotation": "autorotate", "text-background-color": "#ffffff",
    "text-background-opacity": 0.8 } },
  { selector: "edge.REPORTS_TO", style: { "line-style": "dashed" } },
  { selector: "edge.KNOWS", style: { "line-style": "dotted" } },
  { selector: ".faded", style: { opacity: 0.15 } },
  { selector: "edge.explain", style: { "line-color": "#1f2933", "target-arrow-color": "#1f2933",
    opacity: 1, "z-index": 10 } },
  { selector: "edge.path", style: { "line-color": "#c2185b", "target-arrow-color": "#c2185b",
    width: 6, opacity: 1, "z-index": 20, "line-style": "solid" } },
  { selector: "node.path", style: { "border-color": "#c2185b", "border-width": 5,
    "border-style": "solid" } },
];
