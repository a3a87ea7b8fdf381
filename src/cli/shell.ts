/**
 * The tsvirsh session: one lazily opened connection, output helpers and the command runner.
 * Like virsh, a command line is parsed completely before anything runs; its commands then run
 * in order on the same connection, each failure is reported and the next command still runs,
 * and the line's status is the status of its last command.
 */
import { appendFileSync } from 'node:fs';
import { Connect, isUuidString } from '../public/connect';
import type { Domain } from '../public/domain';
import { isVirError } from '../util/vir-error';
import { ParseError, ReportedError } from './errors';
import { parseChain } from './parser';
import { tokenize } from './tokenizer';
import { optString, type CommandContext, type CommandDef, type ParsedCommand } from './types';

/** How the shell was started (global options). */
export interface ShellOptions {
  /** -c / --connect, else the environment's default; undefined lets the library probe. */
  uri?: string;
  readOnly: boolean;
  quiet: boolean;
  /** -t: print each command's duration. */
  timing?: boolean;
  /** -l FILE: errors are appended to FILE in virsh's log format. */
  logFile?: string;
  /** -k: a keepalive interval > 0 was asked for, which tsvirt's API cannot set up. */
  keepaliveInterval?: number;
  /** Commands come from the interactive shell (cd is allowed). */
  interactive?: boolean;
  /** -e: the console escape sequence, already validated. */
  escape?: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** A tsvirsh session. */
export class Shell implements CommandContext {
  #conn: Connect | undefined;
  #quit = false;
  #uri: string | undefined;
  #readOnly: boolean;
  #interrupt: (() => void) | undefined;

  constructor(
    private readonly options: ShellOptions,
    readonly commands: readonly CommandDef[],
  ) {
    this.#uri = options.uri;
    this.#readOnly = options.readOnly;
  }

  /** @inheritdoc */
  get escapeSequence(): string {
    return this.options.escape ?? '^]';
  }

  /** @inheritdoc */
  get interactive(): boolean {
    return !!this.options.interactive;
  }

  /** True once quit/exit ran. */
  get quitRequested(): boolean {
    return this.#quit;
  }

  /** @inheritdoc */
  get quiet(): boolean {
    return this.options.quiet;
  }

  /** @inheritdoc */
  get progressStream(): NodeJS.WritableStream & { isTTY?: boolean } {
    return this.options.stderr;
  }

  /** @inheritdoc */
  print(text: string): void {
    this.options.stdout.write(text);
  }

  /** @inheritdoc */
  printExtra(text: string): void {
    if (!this.options.quiet) this.options.stdout.write(text);
  }

  /** @inheritdoc */
  error(msg: string): void {
    this.options.stderr.write(`error: ${msg}\n`);
    this.log('ERROR', msg);
  }

  /** @inheritdoc */
  printErr(text: string): void {
    this.options.stderr.write(text);
  }

  /** @inheritdoc */
  onInterrupt(handler: () => void): () => void {
    this.#interrupt = handler;
    return () => {
      if (this.#interrupt === handler) this.#interrupt = undefined;
    };
  }

  /**
   * Ctrl-C: runs the running command's interrupt handler (a job watcher aborts its job). Returns
   * false when no command registered one, so the caller treats it as an idle interrupt.
   */
  interrupt(): boolean {
    const h = this.#interrupt;
    if (!h) return false;
    h();
    return true;
  }

  /** One line in the -l log file, as virsh writes it: `[YYYY.MM.DD HH:MM:SS tsvirsh PID] LEVEL msg`. */
  private log(level: string, msg: string): void {
    const file = this.options.logFile;
    if (!file) return;
    const d = new Date();
    const p = (n: number): string => String(n).padStart(2, '0');
    const stamp = `${d.getFullYear()}.${p(d.getMonth() + 1)}.${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    try {
      appendFileSync(file, `[${stamp} tsvirsh ${process.pid}] ${level} ${msg}\n`);
    } catch {
      // virsh goes on when its log file cannot be written; so does tsvirsh.
    }
  }

  /** @inheritdoc */
  async reconnect(uri: string | undefined, readOnly: boolean): Promise<void> {
    await this.close();
    if (uri !== undefined) this.#uri = uri;
    this.#readOnly = readOnly;
    await this.connection();
  }

  /** @inheritdoc */
  requestQuit(): void {
    this.#quit = true;
  }

  /** @inheritdoc */
  async connection(): Promise<Connect> {
    if (this.#conn) return this.#conn;
    let conn: Connect;
    try {
      conn = await Connect.open(this.#uri ?? null, { readOnly: this.#readOnly });
    } catch (err) {
      this.error('failed to connect to the hypervisor');
      throw err;
    }
    if ((this.options.keepaliveInterval ?? 0) > 0) {
      // virsh fails the connection when keepalive was asked for and cannot be set up;
      // tsvirt's API has no virConnectSetKeepAlive, so that is every connection here.
      await conn.close().catch(() => undefined);
      this.error('Cannot setup keepalive on connection as requested, disconnecting');
      this.error('failed to connect to the hypervisor');
      this.error('this function is not supported by the connection driver: virConnectSetKeepAlive');
      throw new ReportedError();
    }
    this.#conn = conn;
    return conn;
  }

  /** @inheritdoc */
  async domain(cmd: ParsedCommand, by: { id?: boolean; uuid?: boolean; name?: boolean } = {}): Promise<Domain> {
    const conn = await this.connection();
    const name = optString(cmd, 'domain') ?? '';
    const { id = true, uuid = true, name: byName = true } = by;
    // Each lookup that fails is silently replaced by the next one, as in virshLookupDomainBy.
    if (id && /^\d+$/.test(name)) {
      const n = Number(name);
      if (Number.isSafeInteger(n)) {
        const d = await conn.lookupDomainByID(n).catch(() => undefined);
        if (d) return d;
      }
    }
    if (uuid && isUuidString(name)) {
      const d = await conn.lookupDomainByUUID(name).catch(() => undefined);
      if (d) return d;
    }
    if (byName && name.length > 0) {
      const d = await conn.lookupDomainByName(name).catch(() => undefined);
      if (d) return d;
    }
    this.error(`failed to get domain '${name}'`);
    throw new ReportedError();
  }

  /** @inheritdoc */
  async attempt<T>(context: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (!(err instanceof ReportedError)) this.error(context);
      throw err;
    }
  }

  /** Runs one parsed command; false when it failed (its errors are printed). */
  async runCommand(cmd: ParsedCommand): Promise<boolean> {
    let ok = true;
    try {
      await cmd.def.handler(this, cmd);
    } catch (err) {
      ok = false;
      if (!(err instanceof ReportedError)) this.error(isVirError(err) ? err.message : describe(err));
    }
    return ok;
  }

  /**
   * Runs already tokenized commands: parse all, then run in order. Returns the status of the
   * last command run (false for a parse error, which runs nothing).
   */
  async runWords(chain: readonly (readonly string[])[]): Promise<boolean> {
    let parsed: ParsedCommand[];
    try {
      parsed = parseChain(this.commands, chain);
    } catch (err) {
      this.reportParseError(err);
      return false;
    }
    let ok = true;
    for (const cmd of parsed) {
      const t0 = process.hrtime.bigint();
      ok = await this.runCommand(cmd);
      if (this.#quit) return ok;
      // virsh ends every command's output with a newline (vshPrintExtra "\n"), or with -t the
      // time the command took.
      if (this.options.timing) this.print(`\n(Time: ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(3)} ms)\n\n`);
      else this.printExtra('\n');
    }
    return ok;
  }

  /** Tokenizes and runs a command string (`;` and newlines separate commands). */
  async runString(line: string): Promise<boolean> {
    let chain: string[][];
    try {
      chain = tokenize(line);
    } catch (err) {
      this.reportParseError(err);
      return false;
    }
    if (chain.length === 0) return false;
    return this.runWords(chain);
  }

  /** True when a URI was named (-c or the environment), not left to the library's probe. */
  get hasUri(): boolean {
    return this.#uri !== undefined;
  }

  /** Opens the connection now; false (errors printed) when it cannot be opened. */
  async connectFirst(): Promise<boolean> {
    try {
      await this.connection();
      return true;
    } catch (err) {
      if (!(err instanceof ReportedError)) this.error(isVirError(err) ? err.message : describe(err));
      return false;
    }
  }

  /** Domain names for completion; empty when no connection is open or listing fails. */
  async domainNames(): Promise<string[]> {
    const conn = this.#conn;
    if (!conn || conn.closed) return [];
    return (await conn.listAllDomains(0).catch(() => [])).map((d) => d.name);
  }

  /** Closes the connection if one was opened. */
  async close(): Promise<void> {
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn && !conn.closed) await conn.close().catch(() => undefined);
  }

  private reportParseError(err: unknown): void {
    if (err instanceof ParseError) for (const l of err.lines) this.error(l);
    else this.error(describe(err));
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
