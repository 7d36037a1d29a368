/**
 * Exact money arithmetic on decimal strings. Amounts are carried as bigint counts of
 * 1/10,000 of the currency unit (the precision of the database's numeric(16,4)), so sums
 * never pick up floating-point error.
 */
const SCALE = 4;
const FACTOR = 10n ** BigInt(SCALE);

/** Digits and at most SCALE decimals, small enough that its units are an exact double (< 10^15 < 2^53). */
const SMALL_AMOUNT = /^(\d{0,11})(?:\.(\d{0,4}))?$/;

/** `"12.5"` → `125000n`. The input must already be a validated non-negative decimal. */
export function toUnits(amount: string): bigint {
  // The common case in one BigInt of an exact integer: an import calls this a few times a line.
  const small = SMALL_AMOUNT.exec(amount);
  if (small) return BigInt(Number(small[1] || '0') * 10_000 + Number((small[2] ?? '').padEnd(SCALE, '0')));
  const [whole = '0', fraction = ''] = amount.split('.');
  return BigInt(whole) * FACTOR + BigInt(fraction.padEnd(SCALE, '0').slice(0, SCALE));
}

/** `125000n` → `"12.5000"`. */
export function fromUnits(units: bigint): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const text = `${abs / FACTOR}.${(abs % FACTOR).toString().padStart(SCALE, '0')}`;
  return negative ? `-${text}` : text;
}

/** Σ quantity × unit price, as a decimal string. */
export function lineTotal(lines: { quantity: number; unitPrice: string }[]): string {
  return fromUnits(lines.reduce((sum, line) => sum + BigInt(line.quantity) * toUnits(line.unitPrice), 0n));
}

/** Σ of decimal strings (`"1.5"`, `"2.2500"`), exact, as a decimal string with 4 places (`"3.7500"`). */
export function sumMoney(amounts: readonly string[]): string {
  return fromUnits(amounts.reduce((sum, amount) => sum + toUnits(amount), 0n));
}

/** A decimal amount as people write it, exact: trailing zeros dropped, at least two decimals (`"592.9000"` → `"592.90"`, `"2.1250"` → `"2.125"`). */
export function amountText(amount: string): string {
  const [whole, decimals = ''] = amount.split('.');
  return `${whole}.${decimals.replace(/0+$/, '').padEnd(2, '0')}`;
}

/** The exact mean of `amount` over `n`, to the cent, halves rounded up (`amountText` form). */
export function averageAmount(amount: string, n: number): string {
  const cents = (toUnits(amount) * 2n + BigInt(n) * 100n) / (BigInt(n) * 200n);
  return amountText(fromUnits(cents * 100n));
}
