/**
 * Splits a virsh command string into commands and words, with virsh's rules: blanks separate
 * words, `;` and newlines separate commands, single quotes are literal, double quotes allow
 * backslash escapes, a bare backslash escapes the next character, `#` at the start of a word
 * comments out the rest of the line.
 */
import { ParseError } from './errors';

/** Tokenizes `input` into a list of commands, each a non-empty list of words. */
export function tokenize(input: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let i = 0;
  const n = input.length;

  const endCommand = (): void => {
    if (words.length > 0) commands.push(words);
    words = [];
  };

  while (i < n) {
    const c = input[i];
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === ';' || c === '\n') {
      endCommand();
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && input[i] !== '\n') i++;
      continue;
    }
    let word = '';
    while (i < n) {
      const ch = input[i];
      if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n' || ch === ';') break;
      if (ch === '\\') {
        if (i + 1 >= n) throw new ParseError('dangling \\');
        word += input[i + 1];
        i += 2;
        continue;
      }
      if (ch === "'") {
        // virsh accepts an unterminated single quote: it runs to the end of the input.
        const end = input.indexOf("'", i + 1);
        word += end < 0 ? input.slice(i + 1) : input.slice(i + 1, end);
        i = end < 0 ? n : end + 1;
        continue;
      }
      if (ch === '"') {
        i++;
        let closed = false;
        while (i < n) {
          const q = input[i];
          if (q === '"') {
            closed = true;
            i++;
            break;
          }
          if (q === '\\' && i + 1 < n) {
            word += input[i + 1];
            i += 2;
            continue;
          }
          word += q;
          i++;
        }
        if (!closed) throw new ParseError('missing "');
        continue;
      }
      word += ch;
      i++;
    }
    words.push(word);
  }
  endCommand();
  return commands;
}
