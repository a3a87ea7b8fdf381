/**
 * QEMU's `-opt key=value,key=value` syntax, shared by every piece of the command line so a path
 * with a comma in it is escaped the same way everywhere.
 */

/** Escapes a value for a QEMU option string: commas are doubled (QEMU's own rule). */
export function escapeOptionValue(value: string): string {
  return value.replace(/,/g, ',,');
}
