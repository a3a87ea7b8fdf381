/**
 * `tsvirtd sasl-user add|delete|list [--sasl-db FILE] [NAME]`: manages the SASL user database,
 * as saslpasswd2 does for libvirtd. `add` reads the password from the first line of standard
 * input, so it never appears in a process listing or shell history.
 */
import { ErrorCode, ErrorDomain } from '../../util/error-codes';
import { VirError } from '../../util/vir-error';
import { checkUserName, defaultUserDb, deleteUser, readUserDb, setUserPassword } from './user-db';

const USAGE = 'usage: tsvirtd sasl-user add|delete|list [--sasl-db FILE] [NAME]';

async function readFirstLine(stdin: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += chunk.toString();
    if (text.includes('\n') || text.length > 4096) break;
  }
  return text.split('\n')[0].replace(/\r$/, '');
}

/**
 * Runs the subcommand; returns what to print. Throws VirError on bad use or a bad database.
 * @param argv the words after `sasl-user`
 */
export async function saslUserCommand(argv: string[], stdin: NodeJS.ReadableStream, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const words: string[] = [];
  let db = defaultUserDb(env);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--sasl-db') {
      const v = argv[++i];
      if (v === undefined) throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.CONF, `--sasl-db needs a value\n${USAGE}`);
      db = v;
    } else if (argv[i].startsWith('--sasl-db=')) db = argv[i].slice('--sasl-db='.length);
    else words.push(argv[i]);
  }
  const [verb, name, ...rest] = words;
  if (rest.length > 0 || !verb) throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.CONF, USAGE);
  switch (verb) {
    case 'list':
      if (name) throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.CONF, USAGE);
      return [...readUserDb(db).keys()].map((n) => `${n}\n`).join('');
    case 'add': {
      checkUserName(name ?? '');
      setUserPassword(db, name, await readFirstLine(stdin));
      return '';
    }
    case 'delete':
      deleteUser(db, checkUserName(name ?? ''));
      return '';
    default:
      throw VirError.report(ErrorCode.INVALID_ARG, ErrorDomain.CONF, `unknown sasl-user command '${verb}'\n${USAGE}`);
  }
}
