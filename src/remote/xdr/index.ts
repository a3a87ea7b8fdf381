/**
 * tsvirt's own XDR (RFC 4506) codec: the low-level reader/writer and the declarative type layer.
 * `import { xdr } from '../xdr'` gives the builders as `xdr.struct(...)`, `xdr.array(...)`, ...
 */
import * as xdr from './types';

export { xdr };
export { XdrReader } from './reader';
export { XdrWriter, xdrPadding } from './writer';
export { xdrError } from './errors';
export type { XdrType, XdrValue, XdrFields, XdrStructValue, XdrUnionValue, XdrUnionOf } from './types';
export { encodeXdr, decodeXdr } from './types';
