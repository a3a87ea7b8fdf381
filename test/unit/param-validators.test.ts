/**
 * The validators the public layer runs are ajv's standalone code for the schemas in schemas/:
 * the committed module must be what the generator makes of the schemas as they are now, so a
 * schema edited without `npm run gen:validators` fails here rather than validating by the old one.
 */
import fs from 'node:fs';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const gen = require('../../scripts/gen-param-validators.js') as { generate(): string; OUT: string };

test('param-validators.generated.ts matches the schemas (run `npm run gen:validators` after a schema change)', () => {
  expect(fs.readFileSync(gen.OUT, 'utf8')).toBe(gen.generate());
});
