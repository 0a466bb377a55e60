/**
 * Reads typed values out of an environment map and collects every problem instead of stopping at the
 * first, so an operator fixes a broken deployment in one pass. Messages name the variable and say what
 * is expected; they never echo a value, because some variables hold secrets.
 */
export type Env = Record<string, string | undefined>;

export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  /** The raw value, with empty strings treated as unset unless `keepEmpty` says otherwise. */
  raw(name: string, keepEmpty = false): string | undefined {
    const value = this.env[name];
    if (value === undefined) return undefined;
    if (value.trim() === '' && !keepEmpty) return undefined;
    return value.trim();
  }

  isSet(name: string): boolean {
    return this.raw(name) !== undefined;
  }

  requiredString(name: string, expected: string): string {
    const value = this.raw(name);
    if (value === undefined) {
      this.problems.push(`${name} is required: ${expected}`);
      return '';
    }
    return value;
  }

  /** A variable that must be present but may be empty (a database password, for instance). */
  requiredAllowEmpty(name: string, expected: string): string {
    const value = this.env[name];
    if (value === undefined) {
      this.problems.push(`${name} is required (it may be empty): ${expected}`);
      return '';
    }
    return value;
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  optionalString(name: string): string | undefined {
    return this.raw(name);
  }

  /** Integer within [min, max]; `fallback` when unset. */
  int(name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!/^-?\d+$/.test(value)) {
      this.problems.push(`${name} must be a whole number between ${min} and ${max}`);
      return fallback;
    }
    const parsed = Number(value);
    if (parsed < min || parsed > max) {
      this.problems.push(`${name} must be a whole number between ${min} and ${max}`);
      return fallback;
    }
    return parsed;
  }

  requiredInt(name: string, min: number, max: number): number {
    if (!this.isSet(name)) {
      this.problems.push(`${name} is required: a whole number between ${min} and ${max}`);
      return min;
    }
    return this.int(name, min, min, max);
  }

  /** Number (fractions allowed) within [min, max]. */
  number(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
      this.problems.push(`${name} must be a number between ${min} and ${max}`);
      return fallback;
    }
    return parsed;
  }

  /**
   * jambonz treats "any non-empty value" as true for flags like JAMBONES_HOSTING; we keep that, but read
   * the usual spellings of false as false so `JAMBONES_HOSTING=0` does not switch hosting on by surprise.
   */
  flag(name: string): boolean {
    const value = this.raw(name);
    if (value === undefined) return false;
    return !/^(0|false|no|off)$/i.test(value);
  }

  /** A flag that is on by default and turned off with 0/false/no/off. */
  flagDefaultOn(name: string): boolean {
    return this.raw(name) === undefined ? true : this.flag(name);
  }

  list(name: string, fallback: string[] = []): string[] {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    return value.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
  }

  /** A comma-separated list of SIP status codes (100-699). */
  statusCodes(name: string): number[] {
    const codes: number[] = [];
    for (const item of this.list(name)) {
      if (!/^\d{3}$/.test(item) || Number(item) < 100 || Number(item) > 699) {
        this.problems.push(`${name} must be a comma-separated list of SIP status codes (100-699)`);
        return [];
      }
      codes.push(Number(item));
    }
    return codes;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const match = allowed.find((candidate) => candidate === value.toLowerCase());
    if (match === undefined) {
      this.problems.push(`${name} must be one of: ${allowed.join(', ')}`);
      return fallback;
    }
    return match;
  }

  problem(message: string): void {
    this.problems.push(message);
  }
}
