// GraphQL over HTTP audits of graphql-http against the URL given as the first argument;
// prints one JSON line per audit: {id, name, status, reason}.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  console.log(JSON.stringify({ id: audit.id, name: audit.name, status: result.status,
    reason: result.status === 'ok' ? null : result.reason }));
}
