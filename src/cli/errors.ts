/**
 * Failure signals inside tsvirsh. A handler's failure is either a VirError from the library
 * (the runner prints its message, as virsh's vshReportError does) or a ReportedError whose
 * message has already been printed.
 */

/** A command failed and everything worth saying has been printed already. */
export class ReportedError extends Error {
  constructor(message = 'command failed') {
    super(message);
    this.name = 'ReportedError';
  }
}

/** A command line could not be parsed; nothing of it runs (virsh's parse errors). */
export class ParseError extends Error {
  /** One line per problem, each printed as `error: <line>`. */
  readonly lines: readonly string[];

  constructor(lines: string | readonly string[]) {
    const all = typeof lines === 'string' ? [lines] : lines;
    super(all.join('\n'));
    this.name = 'ParseError';
    this.lines = all;
  }
}
