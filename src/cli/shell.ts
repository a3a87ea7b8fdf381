/**
 * The tsvirsh session: one lazily opened connection, output helpers and the command runner.
 * Like virsh, a command line is parsed completely before anything runs; its commands then run
 * in order on the same connection, each failure is reported and the next command still runs,
 * and the line's status is the status of its last command.
 */
import { Connect, isVirError, type Domain } from '../index';
import { isUuidString } from '../public/connect';
import { ParseError, ReportedError } from './errors';
import { parseChain } from './parser';
import { tokenize } from './tokenizer';
import { optString, type CommandContext, type CommandDef, type ParsedCommand } from './types';

/** How the shell was started (global options). */
export interface ShellOptions {
  /** -c / --connect, else TSVIRT_DEFAULT_URI. */
  uri?: string;
  readOnly: boolean;
  quiet: boolean;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** A tsvirsh session. */
export class Shell implements CommandContext {
  #conn: Connect | undefined;
  #quit = false;

  constructor(
    private readonly options: ShellOptions,
    readonly commands: readonly CommandDef[],
  ) {}

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
  }

  /** @inheritdoc */
  requestQuit(): void {
    this.#quit = true;
  }

  /** @inheritdoc */
  async connection(): Promise<Connect> {
    if (this.#conn) return this.#conn;
    const uri = this.options.uri;
    if (uri === undefined) {
      this.error('failed to connect to the hypervisor');
      this.error('no connection URI given: use -c URI or set TSVIRT_DEFAULT_URI');
      throw new ReportedError();
    }
    try {
      this.#conn = await Connect.open(uri, { readOnly: this.options.readOnly });
    } catch (err) {
      this.error('failed to connect to the hypervisor');
      throw err;
    }
    return this.#conn;
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
      ok = await this.runCommand(cmd);
      if (this.#quit) return ok;
      // virsh ends every command's output with a newline (vshPrintExtra "\n").
      this.printExtra('\n');
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
