// The runtime matrix's scenario for Node clients, configured only as a user would: the proxy from
// HTTP_PROXY/HTTPS_PROXY, trust from NODE_EXTRA_CA_CERTS (`purser ca env`).
//
// usage: node agent.cjs undici|axios HTTP_BASE HTTPS_BASE   (undici and axios from NODE_PATH)
// Prints one JSON line per step with what the client received.
'use strict';
const crypto = require('node:crypto');

const JSON_BODY = Buffer.from('{"task":"summarise","items":[1,2,3],"note":"paid retry must carry me"}');
const BIG_BODY = Buffer.from('0123456789'.repeat(100000)); // 1,000,000 bytes: under the testnet's 1 MiB limit

// [name, method, url, body, content type]: the same list in every agent script.
const steps = (http, https) => [
  ['http_get', 'GET', `${http}/weather`, null, null],
  ['https_get', 'GET', `${https}/weather`, null, null],
  ['post_json', 'POST', `${https}/echo`, JSON_BODY, 'application/json'],
  ['post_1mb', 'POST', `${https}/echo`, BIG_BODY, 'application/octet-stream'],
  ['stream', 'GET', `${https}/stream`, null, null],
  ['after_stream', 'GET', `${https}/weather`, null, null],
  ['free', 'GET', `${https}/free`, null, null],
  ['declined', 'GET', `${https}/premium`, null, null],
];

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');

function report(name, sent, status, header, chunks, conn) {
  const body = Buffer.concat(chunks);
  const line = {
    step: name, status, decision: header('purser-decision') || '', paid: header('purser-paid') || '',
    length: body.length, sha256: sha256(body),
    events: body.toString('latin1').split('\n').filter((l) => l.startsWith('data:')).length,
    chunks: chunks.length,
  };
  if (conn !== undefined && conn !== null) line.conn = String(conn);
  if (sent) { line.sent_length = sent.length; line.sent_sha256 = sha256(sent); }
  console.log(JSON.stringify(line));
}

async function viaUndici(name, method, url, body, type) {
  const res = await fetch(url, { method, body: body || undefined, headers: type ? { 'content-type': type } : {} });
  const chunks = [];
  for await (const c of res.body || []) chunks.push(Buffer.from(c));
  // fetch hides its socket: undici keeps the connection alive by default, nothing to report here.
  report(name, body, res.status, (h) => res.headers.get(h), chunks, null);
}

async function viaAxios(name, method, url, body, type) {
  const res = await axios.request({
    method, url, data: body || undefined, headers: type ? { 'content-type': type } : {},
    responseType: 'stream', validateStatus: () => true, maxBodyLength: Infinity,
  });
  const conn = res.request && res.request.socket ? res.request.socket.localPort : null;
  const chunks = [];
  for await (const c of res.data) chunks.push(Buffer.from(c));
  report(name, body, res.status, (h) => res.headers[h], chunks, conn);
}

let fetch;
let axios;
async function main() {
  const [client, http, https] = process.argv.slice(2);
  let step;
  if (client === 'undici') {
    const undici = require('undici');
    fetch = undici.fetch;
    undici.setGlobalDispatcher(new undici.EnvHttpProxyAgent());
    step = viaUndici;
  } else {
    axios = require('axios'); // reads HTTP_PROXY/HTTPS_PROXY itself (proxy-from-env)
    step = viaAxios;
  }
  for (const [name, method, url, body, type] of steps(http, https)) {
    try {
      await step(name, method, url, body, type);
    } catch (e) {
      console.log(JSON.stringify({ step: name, error: `${e.name}: ${e.message} ${e.cause ? e.cause.message : ''}` }));
    }
  }
}
main();
