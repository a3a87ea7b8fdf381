// Child process for the "tsvirt killed mid-save" test: loads the TypeScript sources through
// TypeScript's transpiler, opens URI, saves domain NAME to FILE (through CHANNELS parallel
// channels when given) and prints "progress" once the
// save moves. The parent kills it with SIGKILL.
const ts = require('typescript');
const fs = require('node:fs');
require.extensions['.ts'] = (module, filename) => {
  const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, experimentalDecorators: true, emitDecoratorMetadata: true, esModuleInterop: true },
    fileName: filename,
  });
  module._compile(out.outputText, filename);
};
const { Connect } = require('../../src');
const [uri, name, file, channels] = process.argv.slice(2);
(async () => {
  const conn = await Connect.open(uri);
  const dom = await conn.lookupDomainByName(name);
  const saving = channels ? dom.saveParams({ file, 'parallel.channels': Number(channels) }) : dom.save(file);
  saving.catch((e) => console.error('child save ended:', e.message));
  for (;;) {
    const info = await dom.getJobInfo();
    if (info.dataProcessed > 0) {
      process.stdout.write('progress\n');
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
})();
