import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { VIR_DOMAIN_JOB_STATS_COMPLETED, VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED } from '../../src/drivers/common/domain-job';
import {
  DomainState,
  JobOperation,
  JobType,
  RunningReason,
  ShutoffReason,
  type DomainLifecycleEvent,
} from '../../src/drivers/types';
import { ErrorCode } from '../../src/util/error-codes';
import { TypedParamType, type TypedParameter } from '../../src/util/typed-params';
import { flushEvents, openTest, rejection, rmrf, tempDir, waitFor } from './test-driver-helpers';

const s = (field: string, value: string): TypedParameter => ({ field, type: TypedParamType.STRING, value });
const i = (field: string, value: number): TypedParameter => ({ field, type: TypedParamType.INT, value });
const PAYLOAD = 2097152;
const SLOW = 'test:///default?chunk_delay_ms=10';

function value(params: TypedParameter[], field: string): unknown {
  return params.find((p) => p.field === field)?.value;
}

let dir: string;
beforeAll(async () => {
  dir = await tempDir('tdrv-jobs');
});
afterAll(() => rmrf(dir));

describe('jobs of the test driver (shared test:///default state)', () => {
  test('progress per channel is visible from another connection; a second save is refused; completed stats', async () => {
    const saver = await openTest(SLOW);
    const watcher = await openTest();
    const dom = await watcher.domainLookupByName('test');
    const file = join(dir, 'progress');
    const saving = saver.domainSaveParams(dom, [s('file', file), i('parallel.channels', 2)], 0);
    await waitFor(async () => (await watcher.domainGetJobInfo(dom)).dataProcessed > 0);
    const info = await watcher.domainGetJobInfo(dom);
    expect(info.type).toBe(JobType.UNBOUNDED);
    expect(info.dataTotal).toBe(PAYLOAD);
    expect(info.dataProcessed).toBeLessThan(PAYLOAD);
    expect(info.dataRemaining).toBe(PAYLOAD - info.dataProcessed);
    const live = await watcher.domainGetJobStats(dom, 0);
    expect(value(live.params, 'operation')).toBe(JobOperation.SAVE);
    expect(value(live.params, 'parallel.channels')).toBe(2);
    await waitFor(async () => {
      const st = await watcher.domainGetJobStats(dom, 0);
      return (value(st.params, 'parallel.channel.1.data_processed') as bigint) > 0n && (value(st.params, 'parallel.channel.2.data_processed') as bigint) > 0n;
    });
    expect(await watcher.domainGetState(dom, 0)).toEqual({ state: DomainState.PAUSED, reason: 3 /* PAUSED_SAVE */ });
    const second = await rejection(watcher.domainSave(dom, join(dir, 'other')));
    expect(second.code).toBe(ErrorCode.OPERATION_INVALID);
    expect(second.message).toBe("Requested operation is not valid: another job (domain save) is already active on domain 'test'");
    await saving;
    expect((await watcher.domainGetJobInfo(dom)).type).toBe(JobType.NONE);
    const done = await watcher.domainGetJobStats(dom, VIR_DOMAIN_JOB_STATS_COMPLETED | VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED);
    expect(done.type).toBe(JobType.COMPLETED);
    expect(value(done.params, 'data_processed')).toBe(BigInt(PAYLOAD));
    expect(value(done.params, 'data_remaining')).toBe(0n);
    expect((value(done.params, 'parallel.channel.1.data_processed') as bigint) + (value(done.params, 'parallel.channel.2.data_processed') as bigint)).toBe(
      BigInt(PAYLOAD),
    );
    expect((await watcher.domainGetJobStats(dom, VIR_DOMAIN_JOB_STATS_COMPLETED)).type).toBe(JobType.COMPLETED);
    expect((await watcher.domainGetJobStats(dom, VIR_DOMAIN_JOB_STATS_COMPLETED)).type).toBe(JobType.NONE);

    // restore shows its own job with progress
    const restoring = saver.domainRestore(file);
    await waitFor(async () => (await watcher.domainGetJobInfo(dom)).dataProcessed > 0);
    expect(value((await watcher.domainGetJobStats(dom, 0)).params, 'operation')).toBe(JobOperation.RESTORE);
    const during = await rejection(watcher.domainRestore(file));
    expect(during.code).toBe(ErrorCode.OPERATION_INVALID);
    await restoring;
    expect(await watcher.domainGetState(dom, 0)).toEqual({ state: DomainState.RUNNING, reason: RunningReason.RESTORED });
    const rstats = await watcher.domainGetJobStats(dom, VIR_DOMAIN_JOB_STATS_COMPLETED);
    expect(value(rstats.params, 'operation')).toBe(JobOperation.RESTORE);
    await saver.connectClose();
    await watcher.connectClose();
  });

  test('abort mid-save removes every file and the guest runs again (save canceled)', async () => {
    const conn = await openTest(SLOW);
    const dom = await conn.domainLookupByName('test');
    const events: DomainLifecycleEvent[] = [];
    await conn.connectDomainEventRegisterAny(0, null, (e) => events.push(e as DomainLifecycleEvent));
    const noJob = await rejection(conn.domainAbortJob(dom, 0));
    expect(noJob.message).toBe('Requested operation is not valid: no job is active on the domain');
    const sub = await tempDir('tdrv-abort');
    const file = join(sub, 'aborted');
    const saving = conn.domainSaveParams(dom, [s('file', file), i('parallel.channels', 4)], 0);
    await waitFor(async () => (await conn.domainGetJobInfo(dom)).dataProcessed >= 4 * 65536);
    expect((await readdir(sub)).length).toBe(5); // main + 4 channel files being written
    await conn.domainAbortJob(dom, 0);
    const e = await rejection(saving);
    expect(e.code).toBe(ErrorCode.OPERATION_ABORTED);
    expect(e.message).toBe("operation aborted: job 'domain save' canceled by client");
    expect(await readdir(sub)).toEqual([]);
    expect(await conn.domainGetState(dom, 0)).toEqual({ state: DomainState.RUNNING, reason: RunningReason.SAVE_CANCELED });
    const st = await conn.domainGetJobStats(dom, VIR_DOMAIN_JOB_STATS_COMPLETED);
    expect(st.type).toBe(JobType.CANCELLED);
    expect(value(st.params, 'success')).toBe(false);
    await flushEvents();
    // The pause while writing is not announced (libvirt's test driver raises nothing for it), so
    // neither is the resume after the abort.
    expect(events).toEqual([]);
    // an abort keeps an earlier image at the same path intact
    await conn.domainSave(dom, file);
    await conn.domainRestore(file);
    const again = conn.domainSave(dom, file);
    await waitFor(async () => (await conn.domainGetJobInfo(dom)).dataProcessed > 0);
    await conn.domainAbortJob(dom, 0);
    await rejection(again);
    expect(await readdir(sub)).toEqual(['aborted']);
    // restore from the intact earlier image fails only because the guest still runs
    expect((await rejection(conn.domainRestore(file))).message).toBe("Requested operation is not valid: domain 'test' is already active");
    await conn.domainDestroy(dom, 0);
    await conn.domainRestore(file);
    expect((await conn.domainGetState(dom, 0)).reason).toBe(RunningReason.RESTORED);
    await rmrf(sub);
    await conn.connectClose();
  });

  test('destroy during a save aborts it; the domain ends destroyed', async () => {
    const conn = await openTest(SLOW);
    const dom = await conn.domainLookupByName('test');
    const file = join(dir, 'destroyed');
    const saving = conn.domainSave(dom, file);
    await waitFor(async () => (await conn.domainGetJobInfo(dom)).dataProcessed > 0);
    await conn.domainDestroy(dom, 0);
    expect((await rejection(saving)).code).toBe(ErrorCode.OPERATION_ABORTED);
    expect(await conn.domainGetState(dom, 0)).toEqual({ state: DomainState.SHUTOFF, reason: ShutoffReason.DESTROYED });
    expect((await readdir(dir)).filter((f) => f.includes('destroyed'))).toEqual([]);
    await conn.domainCreate(dom, 0);
    await conn.connectClose();
  });
});
