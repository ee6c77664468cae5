// Password hashing with scrypt (node:crypto). The stored form carries its
// own parameters, so the cost can be raised later without breaking old hashes.
import { randomBytes, type ScryptOptions, scrypt as scryptCallback, timingSafeEqual } from "node:crypto";

const scrypt = (password: string, salt: Buffer, keyLength: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scryptCallback(password, salt, keyLength, options, (error, key) => (error === null ? resolve(key) : reject(error))),
  );

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
const R = 8;
const P = 1;
// scrypt needs 128 * N * r bytes; Node's default maxmem (32 MiB) is too small for N = 2^17.
const maxmem = (N: number, r: number) => 128 * N * r + 1024 * 1024;

export class PasswordHasher {
  readonly #N: number;
  /**
   * A hash of no one's password, verified against when the e-mail is
   * unknown, so that a log-in takes as long whether or not the account exists.
   */
  readonly #decoy: Promise<string>;

  /** log2N 17 is OWASP's minimum for scrypt (r=8, p=1: 128 MiB per hash); tests may go lower. */
  constructor(log2N: number) {
    this.#N = 2 ** log2N;
    this.#decoy = this.hash(randomBytes(16).toString("hex"));
  }

  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_LENGTH);
    const key = await scrypt(password.normalize("NFKC"), salt, KEY_LENGTH, { N: this.#N, r: R, p: P, maxmem: maxmem(this.#N, R) });
    return ["scrypt", this.#N, R, P, salt.toString("base64url"), key.toString("base64url")].join("$");
  }

  /** Verifies against the stored hash, or against the decoy when there is none. */
  async verify(password: string, stored: string | undefined): Promise<boolean> {
    const [scheme, n, r, p, salt, expected] = (stored ?? (await this.#decoy)).split("$");
    if (scheme !== "scrypt" || salt === undefined || expected === undefined) throw new Error("unknown password hash format");
    const N = Number(n);
    const rr = Number(r);
    const wanted = Buffer.from(expected, "base64url");
    const key = await scrypt(password.normalize("NFKC"), Buffer.from(salt, "base64url"), wanted.length, {
      N,
      r: rr,
      p: Number(p),
      maxmem: maxmem(N, rr),
    });
    return timingSafeEqual(key, wanted) && stored !== undefined;
  }
}
