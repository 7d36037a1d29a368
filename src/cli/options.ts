/**
 * What every command shares: the config source, and parsers of numeric options (a bad
 * value is a UserError naming the option).
 */
import type { Config } from '../config.ts';
import { UserError } from '../errors.ts';

/** The parsed config, read from the environment the first time a command asks. */
export type ConfigSource = () => Config;

export function positiveNumber(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new UserError(`${flag}: expected a positive number, got "${value}"`);
    return n;
  };
}

export function positiveWholeNumber(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new UserError(`${flag}: expected a positive whole number, got "${value}"`);
    return n;
  };
}
