// Child process for the "owner killed" tests: opens URI, starts the domain defined by the XML
// in file XML with VIR_DOMAIN_START_AUTODESTROY, prints "started <pid-of-qemu>" and keeps its
// connection open until the parent kills it (SIGKILL: the connection is never closed).
require('../remote/ts-register.js');
const fs = require('node:fs');
const { Connect } = require('../../src');
const { qemuPidOf } = require('../../src/drivers/qemu');
const [uri, xmlFile] = process.argv.slice(2);
(async () => {
  const conn = await Connect.open(uri);
  const dom = await conn.createXML(fs.readFileSync(xmlFile, 'utf8'), 2 /* START_AUTODESTROY */);
  process.stdout.write(`started ${qemuPidOf(dom.uuid)}\n`);
  setInterval(() => undefined, 1 << 30);
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
