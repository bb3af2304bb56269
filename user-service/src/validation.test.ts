import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { checkText, isId, parseEmail, parseName, parseSymbol } from './validation.js';

function fault(run: () => unknown): { code: unknown; field: unknown; message: string } | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(GraphQLError);
    const e = error as GraphQLError;
    return { code: e.extensions.code, field: e.extensions.field, message: e.message };
  }
}

describe('parseEmail', () => {
  it.each(['ada@example.com', 'Ada.Lovelace+notes@mail.example.co.uk', "o'brien@example.ie", 'x@xn--80ak6aa92e.xn--p1ai', 'a_b-c@sub-domain.example.io'])(
    'accepts %s',
    (email) => expect(parseEmail(` ${email} `)).toBe(email),
  );

  it.each([
    'plain',
    'a@b',
    '@example.com',
    'a@',
    'a b@example.com',
    'a@@example.com',
    '.a@example.com',
    'a.@example.com',
    'a..b@example.com',
    'a@-example.com',
    'a@example.c',
    'a@example..com',
    '"quoted"@example.com',
    `${'a'.repeat(65)}@example.com`,
    `a@${'b'.repeat(250)}.com`,
  ])('refuses %s with BAD_USER_INPUT naming the value', (email) => {
    const f = fault(() => parseEmail(email));
    expect(f).toMatchObject({ code: 'BAD_USER_INPUT', field: 'email' });
    expect(f?.message).toContain(JSON.stringify(email));
  });
});

describe('control characters', () => {
  it.each(['a\u0000b@example.com', 'a\u0007b@example.com', 'a\u007fb@example.com', 'a\u0085b@example.com', 'ab@exam\u0000ple.com'])(
    'parseEmail refuses %j naming the field',
    (email) => {
      const f = fault(() => parseEmail(email));
      expect(f).toMatchObject({ code: 'BAD_USER_INPUT', field: 'email' });
      expect(f?.message).toMatch(/^email must not contain control characters \(U\+00[0-9A-F]{2} at character \d+\)$/);
    },
  );

  it.each([
    ['symbol', () => parseSymbol('AA\u0000PL')],
    ['name', () => parseName('Ada\u0007', 'name', 10)],
    ['id', () => checkText('0b7a1a3e-8f0e-4d5c-9a55-3e0f2b1c4d5e\u0000', 'id')],
  ])('%s: refused naming the field', (field, run) => {
    expect(fault(run)).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('checkText returns the text when it holds none', () => {
    expect(checkText(' AAPL ', 'symbol')).toBe(' AAPL ');
  });
});

describe('parseSymbol', () => {
  it.each([
    ['AAPL', 'AAPL'],
    [' msft ', 'MSFT'],
    ['brk.b', 'BRK.B'],
    ['BRK-B', 'BRK-B'],
    ['^gspc', '^GSPC'],
    ['EURUSD=X', 'EURUSD=X'],
    ['ES=F', 'ES=F'],
    ['7203.T', '7203.T'],
    ['A', 'A'],
    ['ABCDEFGHIJKLMNOPQRST', 'ABCDEFGHIJKLMNOPQRST'],
  ])('accepts %j as %s', (raw, symbol) => expect(parseSymbol(raw)).toBe(symbol));

  it.each(['', ' ', '^', '.A', '-A', '=A', 'A B', 'A/B', 'A_B', 'A$', 'ÄPPL', 'ABCDEFGHIJKLMNOPQRSTU', '^^A', 'A^B'])(
    'refuses %j',
    (raw) => expect(fault(() => parseSymbol(raw))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'symbol' }),
  );
});

describe('parseName', () => {
  it('trims and bounds the length in characters, not bytes', () => {
    expect(parseName('  Ada  ', 'name', 5)).toBe('Ada');
    expect(parseName('ÄÖÜßé', 'name', 5)).toBe('ÄÖÜßé');
    expect(parseName('😀😀😀', 'name', 3)).toBe('😀😀😀');
    expect(fault(() => parseName('abcdef', 'name', 5))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    expect(fault(() => parseName(' \t ', 'name', 5))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    expect(fault(() => parseName('a\nb', 'name', 5))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
  });
});

describe('isId', () => {
  it('accepts UUIDs in any case and nothing else', () => {
    expect(isId('0b7a1a3e-8f0e-4d5c-9a55-3e0f2b1c4d5e')).toBe(true);
    expect(isId('0B7A1A3E-8F0E-4D5C-9A55-3E0F2B1C4D5E')).toBe(true);
    expect(isId('1')).toBe(false);
    expect(isId('0b7a1a3e8f0e4d5c9a553e0f2b1c4d5e')).toBe(false);
    expect(isId("0b7a1a3e-8f0e-4d5c-9a55-3e0f2b1c4d5e' or 1=1")).toBe(false);
  });
});
