/**
 * The reason to skip a root-only test, or `false` when running as root — for
 * `test('…', { skip: requiresRoot() }, …)`, as containerd's `RequiresRoot`.
 */
export function requiresRoot(): string | false {
  return process.getuid?.() === 0 ? false : 'requires root';
}
