// A tiny HTTP service: answers every request with its version.
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const port = Number(process.env.SAMPLE_HTTP_PORT || 18080);
const version = fs.readFileSync(path.join(__dirname, 'VERSION'), 'utf8').trim();
http
  .createServer((req, res) => res.end(`ok version ${version}\n`))
  .listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
