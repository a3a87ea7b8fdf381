import fs from 'node:fs';
import path from 'node:path';

let cached: string | undefined;

/**
 * tsvirt's own version, read from its package.json at run time. Importing the JSON would make
 * the compiler copy package.json into dist/, where it would shadow the real one for code that
 * imports the package by name.
 */
export function packageVersion(): string {
  if (cached) return cached;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const p = path.join(dir, 'package.json');
    try {
      const pkg = JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tsvirt' && pkg.version) return (cached = pkg.version);
    } catch {
      /* not here */
    }
    if (path.dirname(dir) === dir) return (cached = 'unknown');
  }
}
