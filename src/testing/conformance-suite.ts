/**
 * The driver conformance suite: written once against the public API, run against every driver
 * (test, qemu, remote) by a small per-driver test file that builds a ConformanceTarget.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  Connect,
  DomainEventType,
  DomainState,
  ErrorCode,
  JobStatsFlags,
  JobType,
  PausedReason,
  RunningReason,
  SaveRestoreFlags,
  ShutoffReason,
  TypedParamType,
  type Domain,
} from '../index';
import type { ConformanceTarget } from './conformance-target';
import { saveSafetyChecks } from './save-safety-checks';
import { virErrorOf, waitFor } from './wait';

const SAVE_MAGIC = 'LibvirtQemudSave';

function magicOf(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(16);
    fs.readSync(fd, b, 0, 16, 0);
    return b.toString('latin1');
  } finally {
    fs.closeSync(fd);
  }
}

function listImageFiles(dir: string, base: string): string[] {
  return fs.readdirSync(dir).filter((f) => f === base || f.startsWith(`${base}.`)).sort();
}

/** Registers the whole suite for one target. */
export function conformanceSuite(getTarget: () => ConformanceTarget): void {
  let t: ConformanceTarget;
  let conn: Connect;
  let seq = 0;
  const fresh = async (running = true): Promise<Domain> => {
    const dom = await conn.defineXML(t.domainXML(`conf-${process.pid}-${++seq}`));
    if (running) await dom.create();
    return dom;
  };
  const img = (name: string): string => path.join(t.workDir, name);

  beforeAll(async () => {
    t = getTarget();
    conn = await Connect.open(t.uri);
  });
  afterAll(async () => {
    for (const d of await conn.listAllDomains()) {
      if (!d.name.startsWith(`conf-${process.pid}-`)) continue;
      if (await d.isActive()) await d.destroy();
      if (await d.hasManagedSaveImage()) await d.managedSaveRemove();
      if (await d.isPersistent()) await d.undefine();
    }
    await conn.close();
  });

  describe('connection', () => {
    it('reports type, version, URI and hostname', async () => {
      expect((await conn.getType()).length).toBeGreaterThan(0);
      expect(await conn.getVersion()).toBeGreaterThanOrEqual(0);
      expect(await conn.getURI()).toMatch(/^[a-z]+(\+[a-z]+)?:\/\//);
      expect((await conn.getHostname()).length).toBeGreaterThan(0);
    });

    it('refuses every call after close with INVALID_CONN', async () => {
      const c = await Connect.open(t.uri);
      const dom = (await c.listAllDomains())[0];
      await c.close();
      expect((await virErrorOf(c.getType())).code).toBe(ErrorCode.INVALID_CONN);
      expect((await virErrorOf(c.lookupDomainByName('x'))).code).toBe(ErrorCode.INVALID_CONN);
      if (dom) expect((await virErrorOf(dom.getState())).code).toBe(ErrorCode.INVALID_DOMAIN);
    });

    it('denies mutations on a read-only connection', async () => {
      const dom = await fresh();
      const ro = await Connect.openReadOnly(t.uri);
      try {
        const rdom = await ro.lookupDomainByName(dom.name);
        expect((await rdom.getState()).state).toBe(DomainState.RUNNING);
        const e = await virErrorOf(rdom.save(img('ro.img')));
        expect(e.code).toBe(ErrorCode.OPERATION_DENIED);
        expect(e.message).toBe('operation forbidden: read only access prevents virDomainSave');
        expect((await virErrorOf(rdom.destroy())).code).toBe(ErrorCode.OPERATION_DENIED);
        expect(fs.existsSync(img('ro.img'))).toBe(false);
      } finally {
        await ro.close();
      }
    });
  });

  describe('domain lifecycle', () => {
    it('defines, looks up, starts, pauses, resumes, destroys and undefines', async () => {
      const dom = await fresh(false);
      expect(await dom.isActive()).toBe(false);
      expect(await dom.isPersistent()).toBe(true);
      expect((await conn.lookupDomainByUUID(dom.uuid)).name).toBe(dom.name);
      expect((await conn.listAllDomains()).map((d) => d.name)).toContain(dom.name);
      expect(await dom.getXMLDesc()).toContain(`<name>${dom.name}</name>`);

      await dom.create();
      expect(await dom.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.BOOTED });
      const id = await dom.getID();
      expect(id).toBeGreaterThan(0);
      expect((await conn.lookupDomainByID(id)).name).toBe(dom.name);
      const info = await dom.getInfo();
      expect(info.state).toBe(DomainState.RUNNING);
      expect(info.nrVirtCpu).toBeGreaterThanOrEqual(1);
      expect(info.memory).toBeGreaterThan(0);

      await dom.suspend();
      expect(await dom.getState()).toEqual({ state: DomainState.PAUSED, reason: PausedReason.USER });
      await dom.resume();
      expect(await dom.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.UNPAUSED });
      await dom.destroy();
      expect(await dom.getState()).toEqual({ state: DomainState.SHUTOFF, reason: ShutoffReason.DESTROYED });
      await dom.undefine();
      expect((await virErrorOf(conn.lookupDomainByName(dom.name))).code).toBe(ErrorCode.NO_DOMAIN);
    });

    it('answers NO_DOMAIN for unknown names, uuids and ids', async () => {
      const e = await virErrorOf(conn.lookupDomainByName('no-such-domain'));
      expect(e.code).toBe(ErrorCode.NO_DOMAIN);
      expect(e.message).toContain('no-such-domain');
      expect((await virErrorOf(conn.lookupDomainByUUID('00000000-0000-4000-8000-0000000000ff'))).code).toBe(ErrorCode.NO_DOMAIN);
      expect((await virErrorOf(conn.lookupDomainByID(987654))).code).toBe(ErrorCode.NO_DOMAIN);
    });

    it('rejects malformed XML and bad arguments with INVALID_ARG or XML errors', async () => {
      expect([ErrorCode.XML_ERROR, ErrorCode.XML_DETAIL]).toContain((await virErrorOf(conn.defineXML('<domain><name>x'))).code);
      expect((await virErrorOf(conn.lookupDomainByUUID('not-a-uuid'))).code).toBe(ErrorCode.INVALID_ARG);
      expect((await virErrorOf(conn.lookupDomainByID(-3))).code).toBe(ErrorCode.INVALID_ARG);
    });

    it('delivers lifecycle events until deregistered', async () => {
      const dom = await fresh();
      const seen: Array<[string, DomainEventType]> = [];
      const id = await conn.domainEventRegister((ev) => seen.push([ev.domain.name, ev.event]));
      await dom.suspend();
      await waitFor(() => seen.some(([n, e]) => n === dom.name && e === DomainEventType.SUSPENDED), 5000, 'SUSPENDED event');
      await conn.domainEventDeregister(id);
      const before = seen.length;
      await dom.resume();
      await new Promise((r) => setTimeout(r, 100));
      expect(seen.length).toBe(before);
    });
  });

  describe('save and restore', () => {
    it('saves a running domain and restores it running', async () => {
      const dom = await fresh();
      const file = img(`plain-${dom.name}.img`);
      await dom.save(file);
      expect(await dom.getState()).toEqual({ state: DomainState.SHUTOFF, reason: ShutoffReason.SAVED });
      expect(magicOf(file)).toBe(SAVE_MAGIC);
      expect(listImageFiles(t.workDir, path.basename(file))).toEqual([path.basename(file)]);
      expect(await conn.saveImageGetXMLDesc(file)).toContain(`<name>${dom.name}</name>`);

      await conn.restore(file);
      expect(await dom.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.RESTORED });
      const done = await dom.getJobStats(JobStatsFlags.COMPLETED);
      expect(done.type).toBe(JobType.COMPLETED);
    }, 120000);

    it.each([1, 2, 4])('saves with parallel.channels=%i and restores', async (n) => {
      const dom = await fresh();
      const file = img(`par${n}-${dom.name}.img`);
      await dom.saveParametersFlags({ file, 'parallel.channels': n }, 0);
      const expected = [path.basename(file), ...Array.from({ length: n > 1 ? n : 0 }, (_, k) => `${path.basename(file)}.${k + 1}`)];
      expect(listImageFiles(t.workDir, path.basename(file))).toEqual(expected.sort());
      expect(magicOf(file)).toBe(SAVE_MAGIC);
      await conn.restoreParams({ file });
      expect(await dom.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.RESTORED });
    }, 120000);

    it('takes PARALLEL alone as a parallel save with a default channel count', async () => {
      const dom = await fresh();
      const file = img(`flag-${dom.name}.img`);
      await dom.saveParams([{ field: 'file', type: TypedParamType.STRING, value: file }], SaveRestoreFlags.PARALLEL);
      expect(listImageFiles(t.workDir, path.basename(file)).length).toBeGreaterThan(1);
      await conn.restoreFlags(file, null, SaveRestoreFlags.PAUSED);
      expect((await dom.getState()).state).toBe(DomainState.PAUSED);
    }, 120000);

    it('validates typed parameters before touching the domain', async () => {
      const dom = await fresh();
      const file = img(`bad-${dom.name}.img`);
      const cases: Array<[Promise<unknown>, ErrorCode, string?]> = [
        // @ts-expect-error an unknown field does not compile; JavaScript callers get libvirt's error
        [dom.saveParams({ file, bogus: 1 }), ErrorCode.ARGUMENT_UNSUPPORTED, "argument unsupported: parameter 'bogus' not supported"],
        [
          dom.saveParams([
            { field: 'file', type: TypedParamType.STRING, value: file },
            { field: 'file', type: TypedParamType.STRING, value: file },
          ]),
          ErrorCode.INVALID_ARG,
          "invalid argument: parameter 'file' occurs multiple times",
        ],
        [
          dom.saveParams([{ field: 'parallel.channels', type: TypedParamType.STRING, value: '2' }]),
          ErrorCode.INVALID_ARG,
          "invalid argument: invalid type 'string' for parameter 'parallel.channels', expected 'int'",
        ],
        [dom.saveParams({ file, 'parallel.channels': 0 }), ErrorCode.INVALID_ARG, 'invalid argument: number of parallel save channels cannot be less than 1'],
        // @ts-expect-error an unknown format does not compile; JavaScript callers get libvirt's error
        [dom.saveParams({ file, image_format: 'rar' }), ErrorCode.OPERATION_FAILED, "operation failed: Invalid image_format 'rar'"],
        [dom.saveParams({ file }, 0x100), ErrorCode.INVALID_ARG],
        [
          dom.saveFlags(file, null, SaveRestoreFlags.RUNNING | SaveRestoreFlags.PAUSED),
          ErrorCode.INVALID_ARG,
          "Flags 'VIR_DOMAIN_SAVE_RUNNING' and 'VIR_DOMAIN_SAVE_PAUSED' are mutually exclusive",
        ],
        [conn.restoreParams({}), ErrorCode.INVALID_ARG, 'invalid argument: missing path to restore from'],
      ];
      // The calls start together; mark their rejections handled now, as over a real transport
      // later ones settle while earlier ones are still awaited.
      for (const [p] of cases) p.catch(() => undefined);
      for (const [p, code, message] of cases) {
        const e = await virErrorOf(p);
        expect(e.code).toBe(code);
        if (message) expect(e.message).toBe(message);
      }
      expect(fs.existsSync(file)).toBe(false);
      expect((await dom.getState()).state).toBe(DomainState.RUNNING);
    });

    it('refuses to save an inactive domain and to restore onto an active one', async () => {
      const off = await fresh(false);
      const e = await virErrorOf(off.save(img('inactive.img')));
      expect(e.code).toBe(ErrorCode.OPERATION_INVALID);
      expect(e.message).toBe('Requested operation is not valid: domain is not running');

      const dom = await fresh();
      const file = img(`twice-${dom.name}.img`);
      await dom.save(file);
      await conn.restore(file);
      const again = await virErrorOf(conn.restore(file));
      expect(again.code).toBe(ErrorCode.OPERATION_INVALID);
      expect(again.message).toContain(`domain '${dom.name}' is already active`);
    }, 120000);

    it('refuses missing, truncated and foreign images and changes nothing', async () => {
      expect((await virErrorOf(conn.restore(img('does-not-exist.img')))).code).toBe(ErrorCode.SYSTEM_ERROR);
      const foreign = img('foreign.img');
      fs.writeFileSync(foreign, Buffer.alloc(200, 7));
      const e1 = await virErrorOf(conn.restore(foreign));
      expect(e1.code).toBe(ErrorCode.OPERATION_FAILED);
      expect(e1.message).toBe('operation failed: image magic is incorrect');

      const dom = await fresh();
      const file = img(`trunc-${dom.name}.img`);
      await dom.saveParams({ file, 'parallel.channels': 2 });
      fs.truncateSync(`${file}.2`, 100);
      const snapshot = listImageFiles(t.workDir, path.basename(file)).map((f) => [f, fs.readFileSync(img(f))] as const);
      const e2 = await virErrorOf(conn.restore(file));
      expect(e2.code).toBe(ErrorCode.OPERATION_FAILED);
      expect(e2.message).toContain(`${path.basename(file)}.2`);
      for (const [f, bytes] of snapshot) expect(fs.readFileSync(img(f)).equals(bytes)).toBe(true);
      expect(await dom.isActive()).toBe(false);
    }, 120000);

    it('rewrites the XML and the running state of an image', async () => {
      const dom = await fresh();
      const file = img(`define-${dom.name}.img`);
      await dom.save(file);
      const xml = await conn.saveImageGetXMLDesc(file);
      await conn.saveImageDefineXML(file, xml, SaveRestoreFlags.PAUSED);
      await conn.restore(file);
      expect((await dom.getState()).state).toBe(DomainState.PAUSED);
    }, 120000);
  });

  describe('jobs', () => {
    it('reports progress, refuses a second save, aborts cleanly and keeps the guest running', async () => {
      const slow = await Connect.open(t.slowUri);
      try {
        const dom = await slow.defineXML(t.slowDomainXML(`conf-${process.pid}-${++seq}`));
        await dom.create();
        const file = img(`abort-${dom.name}.img`);
        const saving = dom.saveParams({ file, 'parallel.channels': 2 });
        saving.catch(() => undefined);
        await waitFor(async () => (await dom.getJobInfo()).dataProcessed > 0, t.opTimeoutMs, 'save progress');
        const info = await dom.getJobInfo();
        expect([JobType.BOUNDED, JobType.UNBOUNDED]).toContain(info.type);
        expect(info.dataTotal).toBeGreaterThan(0);
        const stats = await dom.getJobStats();
        expect(stats.params.find((p) => p.field === 'operation')?.value).toBe(2);

        const second = await virErrorOf(dom.save(img('second.img')));
        expect(second.code).toBe(ErrorCode.OPERATION_INVALID);

        await dom.abortJob();
        const aborted = await virErrorOf(saving);
        expect(aborted.code).toBe(ErrorCode.OPERATION_ABORTED);
        expect(aborted.message).toBe("operation aborted: job 'domain save' canceled by client");
        expect(listImageFiles(t.workDir, path.basename(file))).toEqual([]);
        expect(await dom.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.SAVE_CANCELED });
        expect((await dom.getJobInfo()).type).toBe(JobType.NONE);
        expect((await virErrorOf(dom.abortJob())).code).toBe(ErrorCode.OPERATION_INVALID);
        await dom.destroy();
        await dom.undefine();
      } finally {
        await slow.close();
      }
    }, 180000);
  });

  saveSafetyChecks({
    target: () => t,
    connection: () => conn,
    fresh: () => fresh(),
    async slowDomain(c: Connect): Promise<Domain> {
      const dom = await c.defineXML(t.slowDomainXML(`conf-${process.pid}-${++seq}`));
      await dom.create();
      return dom;
    },
  });

  describe('managed save', () => {
    it('saves to the managed image, and create() restores from it', async () => {
      const dom = await fresh();
      expect(await dom.hasManagedSaveImage()).toBe(false);
      await dom.managedSave();
      expect(await dom.hasManagedSaveImage()).toBe(true);
      expect(await dom.getState()).toEqual({ state: DomainState.SHUTOFF, reason: ShutoffReason.SAVED });
      await dom.create();
      expect(await dom.getState()).toEqual({ state: DomainState.RUNNING, reason: RunningReason.RESTORED });
      expect(await dom.hasManagedSaveImage()).toBe(false);
      await dom.managedSave();
      await dom.managedSaveRemove();
      expect(await dom.hasManagedSaveImage()).toBe(false);
    }, 120000);
  });
}
