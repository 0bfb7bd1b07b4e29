// Every operation the page sends. Decision-map fields follow the API's contract exactly; on a
// server without them the operation fails validation and the page says the view is missing.
const ACCOUNT_REF = "id restricted ... on Account { name region }";

export const ME = "query Me { me { id username roles regions clearance } }";

export const SEARCH = `query Search($q: String!) {
  accounts(filter: {nameContains: $q}, first: 20) {
    totalCount edges { node { id name region industry } } } }`;

const MEMBER = `depth effectiveOwnership account { ${ACCOUNT_REF} }`;

export const ACCOUNT = `query Account($id: ID!) {
  account(id: $id) {
    id name region industry lifecycleStage classification
    groupTree(depth: 4) { ancestors { ${MEMBER} } descendants { ${MEMBER} } }
    shareholders { sharePct holder { ${ACCOUNT_REF} } }
    contacts(first: 100) { totalCount edges { node { id name title } } }
  } }`;

export const DECISION_MAP = `query DecisionMap($id: ID!, $asOf: Date) {
  account(id: $id) {
    id
    decisionMap(asOf: $asOf) {
      asOf computedAt
      nodes { id kind name title accountId influence role roles stance lastContactAt restricted
              explanation { fromId toId kind weight share path } }
      edges { id fromId toId kind weight validFrom validTo manual }
      brokers { id betweenness }
      gaps { id reason }
      coverage { completeness filledRoles missingRoles unreachableDecisionMakers }
    } } }`;

const SUPPLY_ACCOUNT = "id restricted ... on Account { name region disruption { reason since } }";
const LINK = `account { ${SUPPLY_ACCOUNT} } tier fromId toId criticality share products`;

export const SUPPLY_CHAIN = `query SupplyChain($id: ID!, $asOf: Date) {
  account(id: $id) {
    id name disruption { reason since }
    upstream: supplyChain(direction: UPSTREAM, depth: 3, asOf: $asOf) { ${LINK} }
    downstream: supplyChain(direction: DOWNSTREAM, depth: 2, asOf: $asOf) { ${LINK} }
  } }`;

export const EXPOSURE = `query Exposure($id: ID!, $asOf: Date) {
  exposure(accountId: $id, maxTier: 3, asOf: $asOf) {
    account { ${ACCOUNT_REF} } tier score path { ${ACCOUNT_REF} } } }`;

export const INTRODUCTION_PATHS = `query IntroductionPaths($to: ID!, $asOf: Date) {
  introductionPaths(to: $to, maxHops: 3, first: 5, asOf: $asOf) {
    strength nodes { id kind name } edges { fromId toId kind strength } } }`;

// The account's latest interactions up to the asOf date (contract B's columns).
export const INTERACTIONS = `query Interactions($id: ID!, $until: Date) {
  account(id: $id) {
    id
    interactions(first: 10, until: $until) {
      edges { node { id channel direction occurredAt subject } } } } }`;
