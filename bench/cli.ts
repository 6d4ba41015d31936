/**
 * The command-line front of every benchmark runner: parse the arguments, print the usage on
 * `--help` (exit 0) or after the reason they were refused (exit 2).
 */
export function optionsOrExit<T>(parse: (argv: string[]) => T | 'help', usage: string, argv = process.argv.slice(2)): T {
  let parsed: T | 'help';
  try {
    parsed = parse(argv);
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    process.exit(2);
  }
  if (parsed === 'help') {
    console.log(usage);
    process.exit(0);
  }
  return parsed;
}
