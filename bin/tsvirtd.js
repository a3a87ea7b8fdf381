#!/usr/bin/env node
// tsvirtd: the daemon serving tsvirt's drivers over libvirt's RPC protocol (build first: npm run build).
require('../dist/src/daemon/main.js').main(process.argv.slice(2));
