// One subscription through the graphql-ws client: node subscribe.mjs <ws-url> <token> <query>
// prints each `next` payload as a JSON line until the first one arrives, then exits.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, query] = process.argv.slice(2);
const client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0,
  connectionParams: { authorization: `Bearer ${token}` } });
await new Promise((resolve, reject) => {
  const stop = client.subscribe({ query }, {
    next: (value) => { console.log(JSON.stringify(value)); stop(); resolve(); },
    error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
    complete: resolve,
  });
  console.log(JSON.stringify({ subscribed: true }));
});
await client.dispose();
