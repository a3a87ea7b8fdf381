import { checkFlags } from '../../src/drivers/common/check-flags';
import {
  DomainJobs,
  VIR_DOMAIN_JOB_STATS_COMPLETED,
  VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED,
} from '../../src/drivers/common/domain-job';
import { DomainEventHub } from '../../src/drivers/common/event-hub';
import { resolveSaveOptions } from '../../src/drivers/common/save-options';
import * as F from '../../src/drivers/common/save-flags';
import { DomainEventId, DomainEventType, JobOperation, JobType, type DomainLifecycleEvent } from '../../src/drivers/types';
import { ErrorCode, ErrorDomain } from '../../src/util/error-codes';
import { TypedParamType, type TypedParameter } from '../../src/util/typed-params';
import { VirError } from '../../src/util/vir-error';

const DOM = { name: 'test', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', id: 1 };

function thrown(fn: () => unknown): VirError {
  try {
    fn();
  } catch (e) {
    if (e instanceof VirError) return e;
    throw e;
  }
  throw new Error('expected a VirError');
}

function param(params: TypedParameter[], field: string): TypedParameter | undefined {
  return params.find((p) => p.field === field);
}

describe('DomainJobs', () => {
  test('one job per domain; progress; completion stats kept or cleared', () => {
    const jobs = new DomainJobs(ErrorDomain.TEST);
    expect(jobs.info(DOM)).toMatchObject({ type: JobType.NONE, dataTotal: 0, timeElapsed: 0 });
    expect(jobs.stats(DOM, 0)).toEqual({ type: JobType.NONE, params: [] });
    const job = jobs.begin(DOM, JobOperation.SAVE, { name: 'domain save', channels: 2 });
    const second = thrown(() => jobs.begin(DOM, JobOperation.SAVE, { name: 'domain save' }));
    expect(second.code).toBe(ErrorCode.OPERATION_INVALID);
    expect(second.domain).toBe(ErrorDomain.TEST);
    expect(second.message).toBe("Requested operation is not valid: another job (domain save) is already active on domain 'test'");
    // another domain is independent
    jobs.begin({ ...DOM, uuid: '00000000-0000-0000-0000-000000000001', name: 'b' }, JobOperation.RESTORE, { name: 'domain restore' }).complete();

    job.setTotal(1000);
    job.addProcessed(300, 1);
    job.addProcessed(100, 2);
    const info = jobs.info(DOM);
    expect(info).toMatchObject({ type: JobType.UNBOUNDED, dataTotal: 1000, dataProcessed: 400, dataRemaining: 600, memTotal: 1000, memProcessed: 400, memRemaining: 600 });
    const live = jobs.stats(DOM, 0);
    expect(param(live.params, 'operation')).toEqual({ field: 'operation', type: TypedParamType.INT, value: JobOperation.SAVE });
    expect(param(live.params, 'data_processed')).toEqual({ field: 'data_processed', type: TypedParamType.ULLONG, value: 400n });
    expect(param(live.params, 'time_elapsed')?.type).toBe(TypedParamType.ULLONG);
    expect(param(live.params, 'parallel.channels')?.value).toBe(2);
    expect(param(live.params, 'parallel.channel.1.data_processed')?.value).toBe(300n);
    expect(param(live.params, 'parallel.channel.2.data_processed')?.value).toBe(100n);

    job.addProcessed(600, 1);
    job.complete();
    expect(jobs.info(DOM).type).toBe(JobType.NONE);
    const kept = jobs.stats(DOM, VIR_DOMAIN_JOB_STATS_COMPLETED | VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED);
    expect(kept.type).toBe(JobType.COMPLETED);
    expect(param(kept.params, 'data_remaining')?.value).toBe(0n);
    expect(param(kept.params, 'success')?.value).toBe(true);
    expect(jobs.stats(DOM, VIR_DOMAIN_JOB_STATS_COMPLETED).type).toBe(JobType.COMPLETED);
    expect(jobs.stats(DOM, VIR_DOMAIN_JOB_STATS_COMPLETED)).toEqual({ type: JobType.NONE, params: [] });
    // a new job can start after completion
    jobs.begin(DOM, JobOperation.RESTORE, { name: 'domain restore' }).fail(new Error('boom'));
    const failed = jobs.stats(DOM, VIR_DOMAIN_JOB_STATS_COMPLETED);
    expect(failed.type).toBe(JobType.FAILED);
    expect(param(failed.params, 'errmsg')?.value).toBe('boom');
    expect(param(failed.params, 'operation')?.value).toBe(JobOperation.RESTORE);
  });

  test('abort signals the worker, which ends CANCELLED with libvirt message', () => {
    const jobs = new DomainJobs(ErrorDomain.QEMU);
    const none = thrown(() => jobs.abort(DOM));
    expect(none.code).toBe(ErrorCode.OPERATION_INVALID);
    expect(none.message).toBe('Requested operation is not valid: no job is active on the domain');
    const job = jobs.begin(DOM, JobOperation.SAVE, { name: 'domain save' });
    expect(() => job.throwIfAborted()).not.toThrow();
    jobs.abort(DOM);
    expect(job.signal.aborted).toBe(true);
    const e = thrown(() => job.throwIfAborted());
    expect(e.code).toBe(ErrorCode.OPERATION_ABORTED);
    expect(e.domain).toBe(ErrorDomain.QEMU);
    expect(e.message).toBe("operation aborted: job 'domain save' canceled by client");
    job.fail(e);
    job.complete(); // ignored: the job already ended
    expect(jobs.stats(DOM, VIR_DOMAIN_JOB_STATS_COMPLETED).type).toBe(JobType.CANCELLED);
  });
});

describe('checkFlags', () => {
  test('reports only the unknown bits, in hex, with the function name', () => {
    expect(() => checkFlags(3, 3, 'f', ErrorDomain.TEST)).not.toThrow();
    const e = thrown(() => checkFlags(0x101, 0x1f, 'testDomainSaveParams', ErrorDomain.TEST));
    expect(e.code).toBe(ErrorCode.INVALID_ARG);
    expect(e.message).toBe('invalid argument: unsupported flags (0x100) in function testDomainSaveParams');
  });
});

describe('resolveSaveOptions', () => {
  const s = (field: string, value: string): TypedParameter => ({ field, type: TypedParamType.STRING, value });
  const i = (field: string, value: number): TypedParameter => ({ field, type: TypedParamType.INT, value });

  test('defaults: single stream, raw, no override', () => {
    expect(resolveSaveOptions([s('file', '/x')], 0)).toEqual({
      file: '/x',
      dxml: undefined,
      imageFormat: 0,
      channels: 1,
      channelsRequested: false,
      channelsParam: undefined,
      instant: false,
      compression: 'none',
      mode: 'single',
      bypassCache: false,
      resetNvram: false,
      runningOverride: undefined,
    });
  });

  test('PARALLEL alone gives the default channel count; parallel.channels alone implies parallel', () => {
    expect(resolveSaveOptions([], F.VIR_DOMAIN_SAVE_PARALLEL)).toMatchObject({ channels: F.DEFAULT_PARALLEL_CHANNELS, mode: 'files', channelsRequested: true });
    expect(resolveSaveOptions([i('parallel.channels', 2), s('parallel.mode', 'region')], 0)).toMatchObject({ channels: 2, mode: 'region' });
    // A named layout is kept even with one channel (one region worker); only an unnamed one is plain.
    expect(resolveSaveOptions([i('parallel.channels', 1), s('parallel.mode', 'region')], F.VIR_DOMAIN_SAVE_PARALLEL)).toMatchObject({ channels: 1, mode: 'region' });
    expect(resolveSaveOptions([s('image_format', 'zstd'), s('parallel.compression', 'zlib')], F.VIR_DOMAIN_SAVE_BYPASS_CACHE | F.VIR_DOMAIN_SAVE_PAUSED)).toMatchObject({
      imageFormat: 5,
      compression: 'zlib',
      bypassCache: true,
      runningOverride: 'paused',
    });
    expect(resolveSaveOptions([], F.VIR_DOMAIN_SAVE_RUNNING).runningOverride).toBe('running');
  });

  test('libvirt errors', () => {
    expect(thrown(() => resolveSaveOptions([i('parallel.channels', 0)], 0)).message).toBe(
      'invalid argument: number of parallel save channels cannot be less than 1',
    );
    const fmt = thrown(() => resolveSaveOptions([s('image_format', 'rar')], 0));
    expect(fmt.code).toBe(ErrorCode.OPERATION_FAILED);
    expect(fmt.message).toBe("operation failed: Invalid image_format 'rar'");
    expect(thrown(() => resolveSaveOptions([], F.VIR_DOMAIN_SAVE_RUNNING | F.VIR_DOMAIN_SAVE_PAUSED)).message).toBe(
      "invalid argument: Flags 'VIR_DOMAIN_SAVE_RUNNING' and 'VIR_DOMAIN_SAVE_PAUSED' are mutually exclusive",
    );
    expect(thrown(() => resolveSaveOptions([s('parallel.compression', 'lz4')], 0)).code).toBe(ErrorCode.INVALID_ARG);
    expect(thrown(() => resolveSaveOptions([s('parallel.mode', 'x')], 0)).code).toBe(ErrorCode.INVALID_ARG);
  });
});

describe('DomainEventHub', () => {
  test('delivers asynchronously, survives throwing callbacks, deregisters', async () => {
    const hub = new DomainEventHub(ErrorDomain.TEST);
    const seen: DomainLifecycleEvent[] = [];
    const bad = hub.register(DomainEventId.LIFECYCLE, null, () => {
      throw new Error('user bug');
    });
    const good = hub.register(DomainEventId.LIFECYCLE, null, (ev) => seen.push(ev as DomainLifecycleEvent));
    hub.emit({ domain: DOM, event: DomainEventType.STOPPED, detail: 4 });
    expect(seen).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([{ eventId: DomainEventId.LIFECYCLE, domain: DOM, event: DomainEventType.STOPPED, detail: 4 }]);
    hub.deregister(bad);
    hub.deregister(good);
    expect(hub.size).toBe(0);
    const e = thrown(() => hub.deregister(good));
    expect(e.code).toBe(ErrorCode.INVALID_ARG);
    hub.emit({ domain: DOM, event: DomainEventType.STARTED, detail: 0 });
    await new Promise((r) => setImmediate(r));
    expect(seen.length).toBe(1);
  });
});

describe('resolveSaveOptions: layouts and restore parameters', () => {
  const s = (field: string, value: string): TypedParameter => ({ field, type: TypedParamType.STRING, value });
  const i = (field: string, value: number): TypedParameter => ({ field, type: TypedParamType.INT, value });

  it('a named layout asks for a parallel save with the default channel count', () => {
    const o = resolveSaveOptions([s('parallel.mode', 'region')], 0);
    expect(o.mode).toBe('region');
    expect(o.channels).toBe(4);
  });

  it('one channel with no layout is the plain single stream; with a layout it keeps the layout', () => {
    expect(resolveSaveOptions([i('parallel.channels', 1)], 0).mode).toBe('single');
    expect(resolveSaveOptions([i('parallel.channels', 1), s('parallel.mode', 'region')], 0).mode).toBe('region');
  });

  it('keeps the channel count the caller gave, and parallel.instant, for restore', () => {
    expect(resolveSaveOptions([], 1 << 4).channelsParam).toBeUndefined();
    expect(resolveSaveOptions([i('parallel.channels', 2)], 0).channelsParam).toBe(2);
    expect(resolveSaveOptions([{ field: 'parallel.instant', type: TypedParamType.BOOLEAN, value: true }], 0).instant).toBe(true);
    expect(resolveSaveOptions([], 0).instant).toBe(false);
  });
});
