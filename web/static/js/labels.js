// Chinese labels of the API's enums (contract D) and the drawing vocabulary.
export const ROLE = {
  DECISION_MAKER: "决策者", TECHNICAL_EVALUATOR: "技术评估", BUSINESS_EVALUATOR: "商务评估",
  PROCUREMENT: "采购", GATEKEEPER: "把关人", INFLUENCER: "影响者", CHAMPION: "内线",
  USER: "使用者",
};
export const STANCE = { SUPPORTER: "支持", NEUTRAL: "中立", OPPONENT: "反对", UNKNOWN: "未知" };
export const KIND = { INFLUENCES: "影响", REPORTS_TO: "汇报", KNOWS: "认识", SUPPLIES: "供货" };
export const NODE_KIND = { CONTACT: "联系人", STAFF: "我方员工", RESTRICTED: "受限" };
export const CRITICALITY = { LOW: "低", MEDIUM: "中", HIGH: "高", SOLE_SOURCE: "独家" };
export const CHANNEL = { VISIT: "拜访", CALL: "电话", EMAIL: "邮件", EXHIBITION: "展会",
  MEETING: "会议", TENDER_QA: "投标答疑", CONSULTATION: "咨询" };
export const DIRECTION = { INBOUND: "客户发起", OUTBOUND: "我方发起" };
export const RESTRICTED = "受限（无权查看）";

export const SHAPE = {
  DECISION_MAKER: "star", TECHNICAL_EVALUATOR: "hexagon", BUSINESS_EVALUATOR: "round-rectangle",
  PROCUREMENT: "rectangle", GATEKEEPER: "octagon", INFLUENCER: "triangle", CHAMPION: "diamond",
  USER: "ellipse",
};
export const COLOUR = {
  SUPPORTER: "#2e9d5b", NEUTRAL: "#4f7cac", OPPONENT: "#d1463b", UNKNOWN: "#9aa3ad",
};
export const EDGE_COLOUR = {
  INFLUENCES: "#e08a1e", REPORTS_TO: "#6b7480", KNOWS: "#3b7dd8", SUPPLIES: "#6b4fa0",
};
export const CRITICALITY_WIDTH = { LOW: 1.5, MEDIUM: 3, HIGH: 4.5, SOLE_SOURCE: 6 };

export function percent(value, digits = 1) {
  return `${(Number(value) * 100).toFixed(digits)}%`;
}

// "60.000000" (a Decimal percentage from the API) → "60%", "11.108889" → "11.11%".
export function ownership(decimal) {
  const value = Number(decimal);
  return `${Number.isInteger(value) ? value : value.toFixed(2)}%`;
}

export function isoDate(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}
