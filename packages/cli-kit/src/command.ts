/**
 * The one shape of every mmmi command line: `<name> <sub-command> [tokens…]`, or, for a command
 * with a default, `<name> [tokens…]` (`mmmi-generate @args.txt`, `mmmi-fid a.npz b.npz`).
 *
 * - no tokens: the usage on the error stream, exit 2 (the command was not said);
 * - `--help`, `-h` or `help` first: the usage on the output stream, exit 0;
 * - a first token that names no sub-command (and no default): `<name>: error: unknown command
 *   '<token>' (commands: …)` and the usage on the error stream, exit 2;
 * - otherwise the sub-command runs on the tokens after its name (the default on all of them)
 *   through `runCommand` (run.ts): what it throws becomes one line and the exit code of its
 *   kind, a usage error adds `(<name> <sub-command> --help for usage)`.
 *
 * A sub-command reads its own flags (one option table each) and answers its own `--help`.
 */
import { EXIT } from './errors.js';
import { runCommand, type CommandContext } from './run.js';

/** Where a command line writes: one line per call, no trailing newline. */
export interface CliLines {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** A sub-command: runs on the tokens after its name and returns the exit code. */
export type Subcommand = (args: string[]) => Promise<number> | number;

export interface CliSpec extends Pick<CommandContext, 'kinds' | 'hints' | 'env'> {
  /** The command's name, e.g. 'mmmi-bench'. */
  name: string;
  /** The help text: usage, the sub-commands, flags. */
  usage: string;
  /** The sub-commands, by name. */
  commands: Readonly<Record<string, Subcommand>>;
  /** Runs on all the tokens when the first one names no sub-command; without it, that is an unknown command. */
  default?: Subcommand;
}

const HELP_WORDS = new Set(['--help', '-h', 'help']);

/** Parses the sub-command, prints the usage when asked (or when nothing was said) and runs the sub-command under the shared error and exit rules. */
export async function runCli(argv: readonly string[], cli: CliSpec, io: CliLines): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.err(cli.usage);
    return EXIT.usage;
  }
  if (HELP_WORDS.has(first)) {
    io.out(cli.usage);
    return EXIT.ok;
  }
  const command = Object.hasOwn(cli.commands, first) ? cli.commands[first] : undefined;
  const fallback = cli.default;
  if (!command && !fallback) {
    io.err(`${cli.name}: error: unknown command '${first}' (commands: ${Object.keys(cli.commands).join(', ')})`);
    io.err(cli.usage);
    return EXIT.usage;
  }
  return runCommand(() => (command ? command(rest) : fallback!([...argv])), {
    name: cli.name,
    err: io.err,
    kinds: cli.kinds,
    hints: cli.hints,
    env: cli.env,
    helpHint: `${cli.name}${command ? ` ${first}` : ''} --help for usage`,
  });
}
