import { randomInt } from 'node:crypto';

// docker's names-generator lists, trimmed: an adjective and a notable scientist or hacker.
const adjectives = (
  'admiring adoring affectionate agitated amazing angry awesome beautiful blissful bold boring brave ' +
  'busy charming clever compassionate competent confident cool cranky crazy dazzling determined ' +
  'distracted dreamy eager ecstatic elastic elated elegant eloquent epic exciting fervent festive ' +
  'flamboyant focused friendly frosty funny gallant gifted goofy gracious great happy hardcore ' +
  'heuristic hopeful hungry infallible inspiring intelligent interesting jolly jovial keen kind ' +
  'laughing loving lucid magical modest musing mystifying naughty nervous nice nifty nostalgic ' +
  'objective optimistic peaceful pedantic pensive practical priceless quirky quizzical recursing ' +
  'relaxed reverent romantic sad serene sharp silly sleepy stoic strange stupefied suspicious sweet ' +
  'tender thirsty trusting unruffled upbeat vibrant vigilant vigorous wizardly wonderful xenodochial ' +
  'youthful zealous zen'
).split(' ');

const surnames = (
  'agnesi albattani allen almeida archimedes aryabhata babbage banach bardeen bartik bassi bell bhabha ' +
  'bhaskara blackwell bohr booth borg bose boyd brahmagupta brattain burnell cannon carson cerf ' +
  'chandrasekhar chebyshev clarke cohen cori cray curie darwin davinci diffie dijkstra dirac easley ' +
  'einstein elion engelbart euclid euler faraday fermat fermi feynman franklin galileo galois gauss ' +
  'germain goldberg goldwasser goodall hamilton hawking heisenberg hellman hermann herschel hertz ' +
  'hodgkin hofstadter hopper hypatia jackson jemison jennings johnson kalam kepler khayyam kilby knuth ' +
  'kowalevski lamarr lamport leakey leavitt liskov lovelace lumiere margulis maxwell mayer mccarthy ' +
  'mcclintock meitner mendel mendeleev merkle mirzakhani montalcini moore morse napier nash neumann ' +
  'newton nightingale nobel noether noyce pascal pasteur payne perlman pike poincare ptolemy raman ' +
  'ramanujan ride ritchie robinson roentgen rubin saha sammet shamir shannon shaw shockley sinoussi ' +
  'snyder spence stonebraker sutherland swanson swartz tesla tharp thompson torvalds turing vaughan ' +
  'villani wilbur wiles williams wilson wing wozniak wright wu yalow yonath'
).split(' ');

/**
 * A docker-style container name, `adjective_surname` (e.g. `focused_turing`). `random(n)` returns an
 * integer in [0, n); inject a seeded one in tests.
 */
export function generateContainerName(random: (n: number) => number = randomInt): string {
  for (;;) {
    const name = `${adjectives[random(adjectives.length)]}_${surnames[random(surnames.length)]}`;
    // Steve Wozniak is not boring (docker's own exception).
    if (name !== 'boring_wozniak') return name;
  }
}
