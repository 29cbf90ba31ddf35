// Builds the bundled list of common passwords refused by the password policy.
//
//   node src/security/data/generate-common-passwords.mjs
//
// writes common-passwords.txt (one lower-cased entry per line, the readable
// copy) and common-passwords.ts (the same list as one string, so that it
// survives compilation to dist/, which does not copy .txt files).
//
// The list is not downloaded from anywhere: it is generated from hand-written
// seeds (passwords that top every published "most common" ranking, popular
// base words and first names, keyboard walks) expanded with the ways people
// usually stretch a short password to meet a minimum length: digit and year
// suffixes, doubling, "ilove..." prefixes and leetspeak. Only entries of at
// least 8 characters are kept: anything shorter is refused by length anyway.
import { writeFileSync } from 'node:fs'

const MIN_LENGTH = 8
const MAX_LENGTH = 128

const words = (text) => text.split(/\s+/).filter(Boolean)

// Passwords found at the top of virtually every public breach ranking.
const CLASSIC = words(`
  123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon
  123123 baseball abc123 football monkey letmein 696969 shadow master 666666
  qwertyuiop 123321 mustang 1234567890 michael 654321 superman 1qaz2wsx 7777777
  121212 000000 qazwsx 123qwe killer trustno1 jordan jennifer zxcvbnm asdfgh
  hunter buster soccer harley batman andrew tigger sunshine iloveyou charlie
  robert thomas hockey ranger daniel starwars klaster 112233 george computer
  michelle jessica pepper zxcvbn 555555 11111111 131313 freedom 777777 maggie
  159753 aaaaaa ginger princess joshua cheese amanda summer ashley nicole
  chelsea matthew access yankees 987654321 dallas austin thunder taylor matrix
  minecraft william corvette hello martin heather secret merlin diamond
  1234qwer hammer silver 222222 88888888 anthony justin bailey q1w2e3r4t5
  patrick internet scooter orange golfer cookie richard samantha bigdog guitar
  jackson whatever mickey chicken sparky snoopy maverick phoenix camaro peanut
  morgan welcome falcon cowboy ferrari samsung andrea smokey steelers joseph
  mercedes dakota arsenal eagles melissa boomer booboo spider nascar monster
  tigers yellow xxxxxx 123123123 gateway marina diablo bulldog qwer1234 compaq
  purple hardcore banana junior hannah 123654 porsche lakers iceman money
  cowboys 987654 london tennis 999999 ncc1701 coffee scooby miller boston
  q1w2e3r4 brandon yamaha chester mother forever johnny edward 333333 oliver
  redsox player nikita knight fender barney midnight please brandy chicago
  badboy slayer rangers charles angel flower rabbit wizard jasper enter rachel
  chris steven winner adidas victoria natasha 1q2w3e4r jasmine winter prince
  marine fishing cocacola casper james 232323 raiders 888888 marlboro gandalf
  asdfasdf crystal 87654321 12344321 golden panther lauren angela spanky
  thx1138 angels madison winston shannon toyota jordan23 canada sophie apples
  tiger 123abc pokemon qazxsw qwaszx muffin johnson murphy cooper jonathan
  liverpool david danielle 159357 jackie 123456a 789456 turtle abcd1234
  scorpion qazwsxedc 101010 butter carlos password1 dennis slipknot qwerty123
  booger startrek 12341234 cameron newyork rainbow nathan rocket viking
  redskins asdfghjkl sierra peaches gemini doctor wilson sandra helpme qwertyui
  victor florida dolphin pookie captain tucker bandit dolphins maddog packers
  jaguar lovers nicholas united tiffany maxwell zzzzzz nirvana jeremy stupid
  monica elephant giants hotdog rosebud success debbie mountain 444444
  xxxxxxxx warrior 1q2w3e4r5t q1w2e3 123456q albert metallica lucky azerty
  bond007 alexis 1111111 samson willie scorpio bonnie gators benjamin voodoo
  driver dexter calvin freddy 212121 creative 12345a sydney rush2112 asdfghjk
  red123 bubba 4815162342 passw0rd trouble gunner happy gordon legend jessie
  stella qwert eminem arthur apple nissan america 1qazxsw2 nothing parker
  rebecca qweqwe garfield beavis 69696969 asdasd december 102030 252525
  11223344 magic apollo skippy kitten copper braves shelby godzilla beaver
  tomcat august buddy airborne qqqqqq brooklyn animal platinum phantom online
  xavier darkness blink182 power green 789456123 voyager police travis
  12qwaszx heaven snowball lover abcdef pakistan 007007 walter playboy blazer
  cricket sniper donkey willow loveme saturn therock redwings bigboy pumpkin
  trinity williams nintendo digital destiny topgun runner marvin guinness
  chance bubbles testing november asdf1234 lasvegas sergey broncos cartman
  private celtic birdie little cassie babygirl donald beatles family
  12121212 school louise gabriel eclipse fluffy 147258369 lol123 explorer
  nelson flyers spencer lovely gibson doggie cherry snickers buffalo pantera
  member carter qwertyu peter alexander bronco paradise goober samuel montana
  mexico dreams michigan carolina friends magnum surfer maximus genius vampire
  lacrosse asd123 christine kimberly speedy sharon carmen 111222 kristina
  sammy racing ou812 sabrina horses 0987654321 qwerty1 stalker enigma 147147
  poohbear 147258 simple 12345q marcus brian qweasdzxc drowssap hahaha
  caroline barbara viper drummer action einstein genesis hello1 scotty friend
  forest 010203 hotrod google vanessa spitfire badger maryjane friday alaska
  1232323q tester jester champion billy 147852 hawaii chevy 420420 walker
  stephen eagle1 october gregory svetlana pamela music shorty westside stanley
  diesel courtney 242424 kevin hitman 12345qwert reddog frank qwe123 popcorn
  patricia aaaaaaaa teresa mozart buddha anderson melanie abcdefg security
  lucky1 lizard denise a12345 123789 ruslan stargate simpsons scarface eagle
  123456789a thumper olivia naruto 1234554321 general cherokee a123456 vincent
  spooky qweasd frankie douglas death loveyou kitty kelly veronica suzuki
  semperfi penguin mercury liberty spirit scotland natalie marley vikings
  system marshall 098765 qwerty12 hummer adrian sandman rocky leslie antonio
  98765432 softball passion mnbvcxz passport rascal howard franklin bigred
  homer redrum jupiter claudia 55555555 141414 zaq12wsx patches raider
  infinity 54321 college russia kawasaki bigguy amazon beautiful
  1q2w3e qqww1122 omgpop qwer123456 unknown chatbooks 20100728 jacket025 evite
  5201314 bangbang123 jobandtalent default ohmnamah23 12345678910 zing
  a123456789 love123 1q2w3e4r5t6y anhyeuem 1234561 admin admin123 changeme
  root toor guest login welcome1 welcome123 qwerty1234 iloveyou1 abc12345
  sunshine1 football1 monkey123 dragon123 princess1 passwd passpass pass1234
  password12 password123 password1234 password! password1! letmein1 letmein123
  trustno1 iloveu iloveyou2 iloveyou! 1234567a 12345678a qwertyuiop123
  superman1 batman123 master123 shadow123 asdf123 asdfgh123 zxcvbnm123
  qwerty321 123qweasd 123qweasdzxc qweasdzxc123 1qaz2wsx3edc 1qazxsw23edc
  zaq1zaq1 zaq12wsx xsw2zaq1 !qaz2wsx !qaz@wsx 1qaz!qaz q1w2e3r4t5y6
  aa123456 aa12345678 a1b2c3d4 a1b2c3 abc123456 abcd12345 abcdefg1 abcdef123
  111111a 000000a 123123a 123456z 1234abcd 12qw12qw 1qa2ws3ed qazwsx123
  qazwsx1 qweqweqwe asdasdasd zxczxczxc 1111aaaa aaaa1111 asdfjkl; 1234asdf
  administrator adminadmin rootroot useruser user1234 user123 test1234
  test123 testtest temp1234 temppass temporary letmein! changeme1 changeme123
  secret123 secret1 opensesame open1234 mypassword mypass123 newpassword
  newpass123 yourpassword passwort motdepasse contrasena contrasenha senha123
  parola123 haslo123 salasana wachtwoord lozinka jelszo heslo1234 sifre123
  qwertz qwertz123 qwertzuiop azertyuiop azerty123 1234azerty wxcvbn
  iloveyou123 ihateyou imissyou loveyou1 loveyou2 lovelove lovely1 iloveu2
  teamo123 tequiero jetaime ichliebedich tiamo123 tekiero 5201314520
  woaini1314 woaini520 1314520 aini1314 qq123456 abc123abc
  sexygirl sexybaby babyboy babygirl1 princesa princesse prinzessin
  football12 football123 baseball1 soccer12 soccer123 hockey12 basketball1
  michael1 jordan1 jordan123 michael23 lebron23 kobe24 kobe0824 jordan2323
  starwars1 pokemon1 pokemon123 naruto123 minecraft1 minecraft123 fortnite
  fortnite1 roblox123 pikachu1 charizard
  whatever1 nothing1 trustme trustno1! believe jesus123 jesus1 jesuschrist
  blessed1 blessing godislove iloveGod christ123 faith123 angel123 angel1
  summer12 summer123 winter12 autumn123 spring123 monday123 sunday123
  superstar rockstar1 skater123 gamer123 hacker123 ninja123 shadow1 killer1
  matrix123 hello1234 hello12345 helloworld hello123 hi123456 hithere1
  goodluck goodbye1 goodgirl goodboy1 badgirl1 bigdaddy sweetie1 sweetheart
  cutie123 honey123 sugar123 pumpkin1 peanut12 chocolate chocolate1 cookie12
  cheese123 banana12 orange12 apple123 applepie cupcake1 butterfly butterfly1
  flower12 flower123 sunflower rainbow1 rainbow123 unicorn1 unicorn123
  dolphin1 monkey12 monkey01 tiger123 lion1234 eagle123 falcon12 dragon12
  dragonball dragonfly spiderman spiderman1 ironman1 hulk1234 captainamerica
  wolverine deadpool1 avengers1 harrypotter hogwarts1 gandalf1 frodo123
  computer1 internet1 windows1 windows10 windows7 microsoft apple1234
  iphone123 android1 samsung1 samsung123 nokia123 motorola google123
  facebook facebook1 myspace1 youtube1 twitter1 instagram linkedin
  qwerty7 qwerty11 qwerty01 qwerty00 qwerty69 q1w2e3r4t5y6u7i8o9p0
  asdfghjkl1 asdfghjkl123 zxcvbnm1 zxcvbnm12 mnbvcxz1 poiuytrewq lkjhgfdsa
  1234567q 1234567z 12345678q 123456789q 123456789z 987654321a
  00000000 000000000 0000000000 11111111 999999999 123454321 1234512345
  123456123 12345678987654321 1111111111 1234567890a 0123456789 01234567
  147852369 741852963 963852741 159753852 789654123 321654987 1236987
  14789632 7894561230 1472583690 258456 2580258 852456 456789123
`)

// Popular base words that people stretch with digits, years and symbols.
const BASE_WORDS = words(`
  password passw0rd pass passwd secret welcome letmein login admin root user
  guest test demo master default changeme access hello hi iloveyou loveyou
  love lover lovely baby babygirl babyboy angel princess prince queen king
  monkey dragon tiger lion eagle falcon wolf bear dog doggy cat kitty puppy
  bunny rabbit horse pony dolphin shark panda penguin turtle spider snake
  football soccer baseball basketball hockey tennis golf golfer rugby cricket
  boxing racing runner skater hunter fishing gamer player winner champion
  summer winter spring autumn fall sunny sunshine rainbow flower rose lily
  daisy butterfly star stars moon galaxy planet heaven angel angels
  jesus christ god blessed faith hope freedom liberty peace happy smile
  shadow ninja killer hacker matrix master batman superman spiderman
  ironman pokemon pikachu naruto goku mario zelda sonic minecraft fortnite
  roblox starwars yoda vader startrek gandalf hobbit harry potter
  computer internet windows linux apple samsung google facebook youtube
  iphone android nokia sony xbox playstation nintendo
  money dollar cash rich lucky magic diamond gold golden silver crystal
  chocolate cookie cookies candy sugar honey cherry banana apple orange lemon
  peach peaches pumpkin peanut cheese pizza coffee beer whiskey vodka
  music guitar rock rocky rockstar superstar metal punk jazz dance
  red blue green yellow purple black white pink orange silver
  mother mommy daddy father family sister brother friend friends
  forever always never nothing whatever trustno1 soccer1 secret1
  hotdog cowboy cowboys yankees lakers raiders steelers packers eagles
  patriots giants bulls celtics dodgers redsox broncos chiefs
  liverpool arsenal chelsea manutd united barcelona realmadrid juventus
  milan ajax bayern celtic rangers
  mustang ferrari porsche corvette camaro harley yamaha honda toyota nissan
  bmw audi mercedes ford chevy jeep volvo tesla
  london paris berlin madrid rome tokyo moscow newyork chicago boston dallas
  texas florida california canada america mexico brazil india china
  japan russia germany france england italy spain poland australia
  school college student teacher doctor police soldier marine army navy
  office work company business welcome hello world qwerty asdf zxcv
  abc abcd abcde qwert asdfgh zxcvb warden auth secure security
`)

// The most frequent given names in breached password lists.
const NAMES = words(`
  michael jennifer jessica ashley amanda daniel david james john robert
  william thomas joseph charles christopher matthew anthony andrew joshua
  jordan justin brandon jason ryan kevin brian eric steven richard mark
  paul george edward kenneth jeffrey timothy scott jonathan nicholas tyler
  alexander alex adam aaron austin benjamin samuel nathan jacob ethan logan
  dylan kyle zachary jack henry oliver lucas mason liam noah elijah
  sarah emily elizabeth michelle melissa nicole stephanie heather rebecca
  laura rachel samantha hannah olivia emma sophia isabella ava mia abigail
  madison chloe grace lily natalie victoria jasmine amber andrea angela
  anna maria mary linda patricia barbara susan karen lisa nancy betty
  helen sandra donna carol ruth sharon kimberly deborah cynthia kathleen
  amy shirley angela brenda pamela emma nicole christina katherine megan
  lauren kayla alyssa brittany tiffany kelly courtney crystal danielle
  vanessa monica veronica diana sabrina natasha tatiana svetlana olga irina
  elena anastasia ivan sergey dmitry andrey alexey maxim vladimir nikita
  carlos juan jose luis miguel antonio pedro pablo diego javier fernando
  mohammed ahmed ali hassan omar fatima priya rahul amit raj
  charlie max buddy bailey bella lucy molly daisy maggie sophie sadie
  chloe coco rocky duke bear tucker jack toby buster cooper lucky
  shadow oscar milo teddy zoe lola ginger pepper sasha princess
`)

// The words stretched most often: they get every suffix, every year and
// leetspeak spellings.
const TOP_WORDS = words(`
  password passw0rd pass secret welcome letmein login admin root user guest
  test master changeme hello iloveyou love baby angel princess monkey dragon
  tiger football soccer baseball summer winter spring autumn sunshine shadow
  superman batman pokemon starwars computer internet qwerty money lucky
  freedom jesus michael jordan charlie killer hunter flower rainbow cookie
  chocolate family forever whatever trustno1 abc123 warden security
`)

const ALL_SUFFIXES = words(`
  1 2 3 4 5 6 7 8 9 0 01 007 10 11 12 13 14 15 21 22 23 24 69 77 88 99 00 100
  111 123 1234 12345 123456 1234567 12345678 321 000 666 777 888 999 2000
  1! ! !! !@# @ @1 @123 # #1 $ . * 123! 1234! 12! 01! 69! 99! _1 _123
  123a 1a 1q 1z 12a 1234a abc abc123 qwe qwerty pass xyz
`)
const COMMON_SUFFIXES = words(`
  1 2 3 7 01 11 12 13 21 22 23 69 99 00 123 1234 12345 123456 321 777 ! 1! 123! @123 abc
`)

const LEET = { a: '@', e: '3', i: '1', o: '0', s: '$' }

const seen = new Set()
const entries = []
const add = (candidate) => {
  const value = candidate.toLowerCase()
  const length = [...value].length
  if (length < MIN_LENGTH || length > MAX_LENGTH) return
  if (/\s/.test(value) || seen.has(value)) return
  seen.add(value)
  entries.push(value)
}

const leetVariants = (word) => {
  const out = new Set()
  // every single substitution (p@ssword, passw0rd) and all at once (p@$$w0rd)
  const letters = Object.keys(LEET).filter((ch) => word.includes(ch))
  for (const ch of letters) out.add(word.replaceAll(ch, LEET[ch]))
  let all = word
  for (const ch of letters) all = all.replaceAll(ch, LEET[ch])
  out.add(all)
  out.add(word.replaceAll('a', '4').replaceAll('o', '0'))
  out.delete(word)
  return [...out]
}

const range = (from, to) => {
  const out = []
  for (let n = from; n <= to; n++) out.push(String(n))
  return out
}
const ALL_YEARS = range(1960, 2030)
const BIRTH_YEARS = range(1975, 2012)
const RECENT_YEARS = range(2015, 2030)
const SHORT_YEARS = range(70, 129).map((n) => String(n % 100).padStart(2, '0'))

// 1. The classic list itself and its most frequent stretchings.
for (const word of CLASSIC) {
  add(word)
  for (const suffix of ['1', '12', '123', '!', '1!']) add(word + suffix)
}

// 2. The top words with everything.
for (const word of TOP_WORDS) {
  add(word)
  add(word + word)
  for (const suffix of ALL_SUFFIXES) add(word + suffix)
  for (const year of ALL_YEARS) add(word + year)
  for (const year of RECENT_YEARS) add(word + year + '!')
  for (const year of SHORT_YEARS) add(word + year)
  for (const prefix of ['1', '123', 'my', 'ilove', 'the']) add(prefix + word)
  for (const variant of leetVariants(word)) {
    add(variant)
    for (const suffix of ['1', '12', '123', '1234', '!', '1!', '123!', '@123', ...RECENT_YEARS.slice(-10)]) add(variant + suffix)
  }
}

// 3. Other popular words: common suffixes and recent years.
for (const word of BASE_WORDS) {
  add(word)
  if (word.length >= 4) add(word + word)
  for (const suffix of COMMON_SUFFIXES) add(word + suffix)
  for (const year of [...RECENT_YEARS, ...SHORT_YEARS.slice(-12)]) add(word + year)
  add('my' + word)
}

// 4. First names: common suffixes and birth years; "ilove" + name.
for (const name of NAMES) {
  add(name)
  for (const suffix of COMMON_SUFFIXES) add(name + suffix)
  for (const year of BIRTH_YEARS) add(name + year)
  for (const year of SHORT_YEARS.slice(10, 30)) add(name + year)
  add('ilove' + name)
}

// 5. Keyboard walks, forwards and backwards, on QWERTY, AZERTY and QWERTZ
//    layouts: every run of at least 8 keys along a single row, and the first
//    8 to 16 keys of the longer zig-zags.
const ROWS = [
  '1234567890-=', 'qwertyuiop[]', 'asdfghjkl;\'', 'zxcvbnm,./', '!@#$%^&*()_+',
  'azertyuiop', 'qsdfghjklm', 'qwertzuiop', 'qwertyuiopasdfghjklzxcvbnm'
]
const ZIGZAGS = [
  '1qaz2wsx3edc4rfv5tgb', '1q2w3e4r5t6y7u8i9o0p', 'q1w2e3r4t5y6u7i8o9p0',
  'qazwsxedcrfvtgbyhnujm', 'zaq1xsw2cde3vfr4bgt5', 'zaq!xsw@cde#vfr$',
  '!qaz@wsx#edc$rfv%tgb', '1qazxsw23edcvfr4', 'qweasdzxcrtyfghvbn',
  '1qa2ws3ed4rf5tg6yh', 'a1s2d3f4g5h6j7k8l9', '1a2s3d4f5g6h7j8k9l',
  'z1x2c3v4b5n6m7', 'qaswdefrgthyjukilo', 'asdfjkl;asdfjkl;', 'qwerasdfzxcv',
  '147258369', '789456123', '741852963', '963852741', '159753258456',
  '123698745', '1472583690', '7894561230', '3692581470', '12qwaszx', '1qw23er4',
  'qwer1234', 'asdf1234', 'zxcv1234', '1234qwer', '1234asdf', 'qwe123asd456'
]
const reverse = (text) => [...text].reverse().join('')
for (const row of ROWS) {
  for (const text of [row, reverse(row)]) {
    for (let start = 0; start < text.length; start++) {
      for (let end = start + MIN_LENGTH; end <= text.length; end++) add(text.slice(start, end))
    }
    for (const suffix of ['1', '12', '123', '!', '1!']) add(text.slice(0, 8) + suffix)
    add(text.slice(0, 4).repeat(2))
    add(text.slice(0, 4).repeat(3))
    add(text.slice(0, 5).repeat(2))
    add(text.slice(0, 6).repeat(2))
  }
}
for (const zigzag of ZIGZAGS) {
  for (const text of [zigzag, reverse(zigzag)]) {
    for (let end = MIN_LENGTH; end <= Math.min(16, text.length); end++) add(text.slice(0, end))
    add(text.slice(0, 8) + '!')
    add(text.slice(0, 4).repeat(2))
  }
}

// 6. Repeated characters and short repeated groups: "aaaaaaaa", "12121212",
//    "abcabcabc", "123123123".
const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789'
for (const ch of ALNUM + '!*.#') {
  for (let n = MIN_LENGTH; n <= 16; n++) add(ch.repeat(n))
}
const DIGITS = '0123456789'
for (const a of DIGITS) {
  for (const b of DIGITS) {
    add((a + b).repeat(4))
    add((a + b).repeat(5))
    add((a + a + b + b).repeat(2))
    add(a.repeat(4) + b.repeat(4))
    add(a.repeat(3) + b.repeat(3) + a.repeat(3))
  }
}
for (const a of 'abcdefghijklmnopqrstuvwxyz') add((a + a + a).repeat(3))
for (const group of ['abc', 'xyz', 'qwe', 'asd', 'zxc', 'abcd', 'qwer', 'asdf', 'zxcv', 'abc1', 'a1b2', 'ab12', 'love', 'baby']) {
  add(group.repeat(2))
  add(group.repeat(3))
}
for (let n = 100; n <= 999; n++) {
  const group = String(n)
  const d = [...group].map(Number)
  const step = d[1] - d[0]
  // "123123123", "321321321", "121121121", "112112112"
  if ((Math.abs(step) === 1 && d[2] - d[1] === step) || d[0] === d[2] || d[0] === d[1] || d[1] === d[2]) {
    add(group.repeat(3))
  }
}
for (let n = 1000; n <= 9999; n += 1) {
  const group = String(n)
  // only the "patterned" four-digit groups: 1234, 1212, 2580, 1122, 1001 ...
  const d = [...group].map(Number)
  const ascending = d[1] - d[0] === 1 && d[2] - d[1] === 1 && d[3] - d[2] === 1
  const descending = d[0] - d[1] === 1 && d[1] - d[2] === 1 && d[2] - d[3] === 1
  const pairs = d[0] === d[2] && d[1] === d[3]
  const doubled = d[0] === d[1] && d[2] === d[3]
  const mirrored = d[0] === d[3] && d[1] === d[2]
  if (ascending || descending || pairs || doubled || mirrored) {
    add(group.repeat(2))
    add(group + [...group].reverse().join(''))
  }
}

// 7. Ascending and descending runs of digits and letters.
const runSources = ['01234567890123456789', '98765432109876543210', 'abcdefghijklmnopqrstuvwxyz', 'zyxwvutsrqponmlkjihgfedcba']
for (const source of runSources) {
  for (let start = 0; start < 10; start++) {
    for (let n = MIN_LENGTH; n <= 12 && start + n <= source.length; n++) add(source.slice(start, start + n))
  }
}
for (let n = MIN_LENGTH; n <= 26; n++) add('abcdefghijklmnopqrstuvwxyz'.slice(0, n))
for (const letters of ['a', 'ab', 'abc', 'abcd', 'q', 'qw', 'qwe', 'qwer', 'z', 'aa', 'aaa', 'x', 'zz']) {
  for (const digits of ['123456', '1234567', '12345678', '123456789', '654321', '000000', '111111', '112233', '121212', '123123', '1234', '12345', '2580']) {
    add(letters + digits)
    add(digits + letters)
  }
}

// 8. Dates people use as passwords: birthdays written as ddmmyyyy, mmddyyyy
//    and yyyymmdd for the first of each month, and the years themselves
//    doubled ("19901990").
for (const year of BIRTH_YEARS) {
  add(year + year)
  add(year + '1234')
  add('1234' + year)
  for (let month = 1; month <= 12; month++) {
    const mm = String(month).padStart(2, '0')
    add('01' + mm + year)
    add(mm + '01' + year)
    add(year + mm + '01')
  }
}

entries.sort((a, b) => a.localeCompare(b, 'en'))

const here = new URL('./', import.meta.url)
writeFileSync(new URL('common-passwords.txt', here), entries.join('\n') + '\n')

const escape = (value) => value.replaceAll('\\', '\\\\').replaceAll('`', '\\`').replaceAll('${', '\\${')
const module = [
  '// Generated by generate-common-passwords.mjs from the same data as',
  '// common-passwords.txt: do not edit by hand, run the generator instead.',
  '// One lower-cased entry per line.',
  'export const COMMON_PASSWORDS = `' + entries.map(escape).join('\n') + '`',
  ''
].join('\n')
writeFileSync(new URL('common-passwords.ts', here), module)

console.log(`wrote ${entries.length} entries`)
