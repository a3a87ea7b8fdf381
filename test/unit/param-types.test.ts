/**
 * The typed object form of each Params API (src/public/param-types.ts) says what its JSON Schema
 * says: the same fields, the same enum values. The records below fail to compile when a field
 * or value is missing from or extra to the interfaces; the tests fail when the schemas differ.
 */
import { paramSchemas, type DomainRestoreParams, type DomainSaveParams } from '../../src';

type Keys<T> = Record<keyof Required<T>, true>;
type Values<T> = Record<NonNullable<T> & string, true>;

const saveFields: Keys<DomainSaveParams> = {
  file: true,
  dxml: true,
  image_format: true,
  'parallel.channels': true,
  'parallel.compression': true,
  'parallel.mode': true,
};
const restoreFields: Keys<DomainRestoreParams> = { file: true, dxml: true, 'parallel.channels': true, 'parallel.instant': true };
const formats: Values<DomainSaveParams['image_format']> = { raw: true, gzip: true, bzip2: true, xz: true, lzop: true, zstd: true, sparse: true };
const compressions: Values<DomainSaveParams['parallel.compression']> = { none: true, zlib: true, zstd: true };
const modes: Values<DomainSaveParams['parallel.mode']> = { files: true, region: true };

const props = (api: keyof typeof paramSchemas): Record<string, { enum?: string[]; 'x-virt-type': string }> =>
  paramSchemas[api].properties as unknown as Record<string, { enum?: string[]; 'x-virt-type': string }>;

test('save fields and values match domain-save-params.json', () => {
  const p = props('domain-save-params');
  expect(Object.keys(saveFields).sort()).toEqual(Object.keys(p).sort());
  expect(Object.keys(formats).sort()).toEqual([...(p.image_format.enum ?? [])].sort());
  expect(Object.keys(compressions).sort()).toEqual([...(p['parallel.compression'].enum ?? [])].sort());
  expect(Object.keys(modes).sort()).toEqual([...(p['parallel.mode'].enum ?? [])].sort());
});

test('restore fields match domain-restore-params.json', () => {
  expect(Object.keys(restoreFields).sort()).toEqual(Object.keys(props('domain-restore-params')).sort());
});
