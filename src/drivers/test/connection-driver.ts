/**
 * The test driver's connection driver: `test:///default` (one state shared by every open
 * connection of the process while at least one is open, as libvirt's test driver does) and
 * `test:///ABSOLUTE/PATH.xml` (a private state loaded from a fixture file per open).
 */
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { moduleLogger } from '../../util/logger';
import type { VirUri } from '../../util/uri';
import { VirError } from '../../util/vir-error';
import type { ConnectionDriver, OpenOptions, OpenResult } from '../connection-driver';
import { TestConnection } from './connection';
import { loadDefaultState, loadFixtureFile } from './fixture-loader';
import type { TestState } from './state';

const logger = moduleLogger('test-driver');

let sharedDefault: TestState | undefined;

function invalidArg(detail: string): VirError {
  return VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.TEST, detail);
}

/** URI `chunk_delay_ms` (milliseconds slept after each 64 KiB chunk of a save or restore). */
function chunkDelay(uri: VirUri): number {
  const raw = uri.query.chunk_delay_ms;
  if (raw === undefined) return 0;
  if (!/^[0-9]+$/.test(raw)) throw invalidArg(`invalid chunk_delay_ms '${raw}' in URI ${uri.raw}`);
  return Number(raw);
}

function canonicalUri(uri: VirUri): string {
  const query = uri.params.length
    ? `?${uri.params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`
    : '';
  return `test://${uri.path}${query}`;
}

/** Number of open connections on the shared `test:///default` state (0 when none). */
export function defaultStateRefs(): number {
  return sharedDefault?.refs ?? 0;
}

async function openState(uri: VirUri): Promise<{ state: TestState; release: () => Promise<void> }> {
  if (uri.path === '/default') {
    const state = sharedDefault ?? loadDefaultState();
    sharedDefault = state;
    state.refs++;
    return {
      state,
      release: async () => {
        state.refs--;
        if (state.refs === 0 && sharedDefault === state) {
          sharedDefault = undefined;
          await state.dispose();
        }
      },
    };
  }
  const state = await loadFixtureFile(uri.path);
  state.refs = 1;
  return {
    state,
    release: async () => {
      state.refs = 0;
      await state.dispose();
    },
  };
}

/** The `test` connection driver. */
export const testConnectionDriver: ConnectionDriver = {
  name: 'test',
  uriSchemes: ['test'],
  localOnly: true,

  async open(uri: VirUri | undefined, _options: OpenOptions): Promise<OpenResult> {
    if (!uri || uri.driver !== 'test') return { status: 'declined' };
    if (uri.host !== undefined || uri.transport !== undefined) return { status: 'declined' };
    if (uri.path === '' || uri.path === '/') throw invalidArg('supply a path or use test:///default');
    if (!uri.path.startsWith('/')) throw invalidArg(`path '${uri.path}' in URI ${uri.raw} must be absolute`);
    const delay = chunkDelay(uri);
    const { state, release } = await openState(uri);
    logger.debug({ uri: uri.raw, refs: state.refs }, 'test connection opened');
    return { status: 'success', driver: new TestConnection(state, canonicalUri(uri), delay, release) };
  },
};
