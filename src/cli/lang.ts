/**
 * The language of the `mamori` command's texts: Japanese unless `--lang en` (anywhere on the
 * command line) or MAMORI_LANG=en asks for English. It is decided before the commands are
 * registered, because their descriptions (the help) are texts too. Machine output (--json, ids,
 * the JSON keys) does not change with it.
 */
import { Help, Option } from 'commander';
import type { Command } from 'commander';
import { msg, render } from '../shared/i18n/index.js';
import type { Lang, MessageId, MsgParam } from '../shared/i18n/index.js';

const LANGS: readonly Lang[] = ['ja', 'en'];

/** The language asked for by `--lang X` / `--lang=X` in argv, else by MAMORI_LANG, else Japanese (a --lang that is neither is refused by commander). */
export function languageOf(argv: readonly string[], env: NodeJS.ProcessEnv): Lang {
  let asked: string | undefined;
  argv.forEach((a, i) => {
    if (a === '--lang') asked = argv[i + 1];
    else if (a.startsWith('--lang=')) asked = a.slice('--lang='.length);
  });
  const value = (asked ?? env.MAMORI_LANG ?? 'ja').trim().toLowerCase();
  return (LANGS as readonly string[]).includes(value) ? (value as Lang) : 'ja';
}

let current: Lang | undefined;

/** The language of this run. */
export function cliLang(): Lang {
  current ??= languageOf(process.argv.slice(2), process.env);
  return current;
}

/** A text of the catalogue in the language of this run. */
export function t(id: MessageId, params?: Record<string, MsgParam>): string {
  return render(msg(id, params), cliLang());
}

/** commander's own words (headings, help option, errors it raises), in the language of this run. */
const COMMANDER_ERRORS: [RegExp, MessageId][] = [
  [/^error: unknown option '([^']*)'(?:\s*\(Did you mean (?<suggestion>\S+)\?\))?/, 'cli.commander.unknownOption'],
  [/^error: unknown command '([^']*)'(?:\s*\(Did you mean (?<suggestion>\S+)\?\))?/, 'cli.commander.unknownCommand'],
  [/^error: required option '([^']*)' not specified/, 'cli.commander.requiredOption'],
  [/^error: option '([^']*)' argument missing/, 'cli.commander.optionArgument'],
  [/^error: missing required argument '([^']*)'/, 'cli.commander.missingArgument'],
  [/^error: too many arguments/, 'cli.commander.tooManyArguments'],
  [/^error: option '([^']*)' argument '[^']*' is invalid\. Allowed choices are (?<choices>[^.]*)\./, 'cli.commander.invalidChoice'],
];

export function commanderError(text: string): string {
  for (const [pattern, id] of COMMANDER_ERRORS) {
    const m = pattern.exec(text);
    if (!m) continue;
    const { suggestion, choices } = m.groups ?? {};
    return `${t(id, { name: m[1] ?? '', choices: choices ?? '', suggestion: suggestion ? t('cli.commander.didYouMean', { name: suggestion }) : '' })}\n`;
  }
  return text;
}

const TITLES: Record<string, MessageId> = { 'Usage:': 'cli.help.usage', 'Options:': 'cli.help.options', 'Commands:': 'cli.help.commands', 'Arguments:': 'cli.help.arguments', 'Global Options:': 'cli.help.globalOptions' };

/** Set on the program before any command is added: subcommands inherit the help and output settings. */
export function localizeCommander(program: Command): void {
  program.addOption(new Option('--lang <lang>', t('cli.opt.lang')).choices(LANGS));
  program.helpOption('-h, --help', t('cli.help.helpOption'));
  program.helpCommand('help [command]', t('cli.help.helpCommand'));
  // commander's placeholders in usage lines ("mamori [options] [command]", "status [options]").
  const usage = (text: string) => text.replace(/\[options\]/g, t('cli.help.optionsTerm')).replace(/\[command\]/g, t('cli.help.commandTerm'));
  program.configureHelp({
    styleTitle: (title: string) => (TITLES[title] ? t(TITLES[title]) : title),
    commandUsage: (cmd: Command) => usage(Help.prototype.commandUsage.call(new Help(), cmd)),
    subcommandTerm: (cmd: Command) => usage(Help.prototype.subcommandTerm.call(new Help(), cmd)),
    // Columns as a terminal draws them: a Japanese character takes two (commander counts one).
    displayWidth: (text: string) => [...text.replace(/\x1b\[\d*(;\d+)*m/g, '')].reduce((n, c) => n + (c.charCodeAt(0) > 0x2e7f ? 2 : 1), 0),
    optionDescription(this: Help, option: Option): string {
      const extra: string[] = [];
      if (option.argChoices) extra.push(t('cli.help.choices', { choices: option.argChoices.join(', ') }));
      if (option.defaultValue !== undefined && !option.negate && typeof option.defaultValue !== 'boolean') extra.push(t('cli.help.default', { value: String(option.defaultValue) }));
      return extra.length ? `${option.description} (${extra.join(', ')})` : option.description;
    },
  });
  program.configureOutput({ outputError: (text, write) => write(commanderError(text)) });
}
