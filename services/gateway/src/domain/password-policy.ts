// Which passwords are refused at sign-up: those an attacker's first guesses
// find. zxcvbn (its TypeScript port) estimates the guesses a password takes
// against the common dictionaries (leaked passwords, names, keyboard walks)
// and English words, and the user's own e-mail and name; scores 0 and 1 (under 10^6 guesses)
// are refused, with the estimator's own hint.
import { ZxcvbnFactory } from "@zxcvbn-ts/core";
import * as common from "@zxcvbn-ts/language-common";
import * as en from "@zxcvbn-ts/language-en";

const estimator = new ZxcvbnFactory({
  dictionary: { ...common.dictionary, ...en.dictionary },
  graphs: common.adjacencyGraphs,
  translations: en.translations,
});
/** zxcvbn's score 2: "somewhat guessable", at least 10^6 guesses. */
const SCORE_MIN = 2;

/** Why the password is refused, or undefined when it may be used. */
export function passwordProblem(password: string, userInputs: readonly string[]): string | undefined {
  // Parts of the e-mail and name count too: "minjun" and "kim" in minjun.kim@example.com.
  const inputs = userInputs.flatMap((s) => [s, s.split("@")[0]!, ...s.split(/[@._+\s-]/)]).filter((s) => s.length > 0);
  const result = estimator.check(password, inputs);
  if (result.score >= SCORE_MIN) return undefined;
  const why = result.feedback.warning || "it is among the first guesses an attacker tries";
  return `password: too easy to guess (${why})`;
}
