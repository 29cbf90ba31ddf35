import t from 'tap'
import argon2 from 'argon2'
import {
  OWASP_ARGON2,
  checkPasswordPolicy,
  countCodePoints,
  createPasswordHasher,
  isCommonPassword,
  loadCommonPasswords
} from '../../src/security/passwords.js'

const hasher = createPasswordHasher(OWASP_ARGON2)

t.test('hash and verify', async (t) => {
  const hash = await hasher.hash('correct horse battery staple')
  t.match(hash, /^\$argon2id\$v=19\$/)
  t.match(hash, /[$,]m=19456[,$]/)
  t.match(hash, /[$,]t=2[,$]/)
  t.match(hash, /[$,]p=1[,$]/)
  t.equal(await hasher.verify(hash, 'correct horse battery staple'), true)
  t.equal(await hasher.verify(hash, 'correct horse battery stapler'), false, 'wrong password')
  t.equal(await hasher.verify(hash, ''), false, 'empty password')
  const again = await hasher.hash('correct horse battery staple')
  t.not(again, hash, 'salted')
})

t.test('verify never throws on a malformed stored hash', async (t) => {
  const malformed = [
    '',
    'not a hash',
    '$argon2id$v=19$m=19456,t=2,p=1$',
    '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$',
    '$argon2id$v=19$m=abc,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA',
    '$2b$10$abcdefghijklmnopqrstuuJ6b0eQh4p8h1d0dGZ8cJ0aR1nBq2b1K',
    '$argon2id$v=19$m=19456,t=2,p=1$!!!!$????'
  ]
  for (const hash of malformed) {
    t.equal(await hasher.verify(hash, 'whatever password'), false, JSON.stringify(hash))
  }
  t.equal(await hasher.verify(undefined as unknown as string, 'x'), false, 'undefined')
})

t.test('needsRehash', async (t) => {
  const current = await hasher.hash('some long password')
  t.equal(hasher.needsRehash(current), false, 'current parameters')

  // weaker parameters are allowed here only, to produce a legacy hash
  const weak = await argon2.hash('some long password', { type: argon2.argon2id, memoryCost: 8192, timeCost: 1, parallelism: 1 })
  t.equal(hasher.needsRehash(weak), true, 'm=8192,t=1')
  t.equal(await hasher.verify(weak, 'some long password'), true, 'a legacy hash still verifies')

  const argon2i = await argon2.hash('some long password', { type: argon2.argon2i, ...OWASP_ARGON2 })
  t.equal(hasher.needsRehash(argon2i), true, 'argon2i')

  const stronger = createPasswordHasher({ memoryCost: 32768, timeCost: 3, parallelism: 1 })
  t.equal(stronger.needsRehash(current), true, 'configured parameters rose')
  t.equal(hasher.needsRehash(await stronger.hash('x')), false, 'above the configured parameters is fine')

  t.equal(hasher.needsRehash('garbage'), true, 'unparseable')
})

t.test('verifyDummy', async (t) => {
  t.equal(await hasher.verifyDummy('anything at all'), false)
  const [a, b] = await Promise.all([hasher.verifyDummy('one'), hasher.verifyDummy('two')])
  t.equal(a, false)
  t.equal(b, false)
})

t.test('parameters below the OWASP minimum are refused', async (t) => {
  t.throws(() => createPasswordHasher({ memoryCost: 8192, timeCost: 2, parallelism: 1 }), RangeError)
  t.throws(() => createPasswordHasher({ memoryCost: 19456, timeCost: 1, parallelism: 1 }), RangeError)
  t.throws(() => createPasswordHasher({ memoryCost: 19456, timeCost: 2, parallelism: 0 }), RangeError)
  t.throws(() => createPasswordHasher({ memoryCost: 19456.5, timeCost: 2, parallelism: 1 }), TypeError)
  t.throws(() => createPasswordHasher({ memoryCost: Number.NaN, timeCost: 2, parallelism: 1 }), TypeError)
  t.doesNotThrow(() => createPasswordHasher({ memoryCost: 65536, timeCost: 3, parallelism: 4 }))
})

t.test('policy: length in code points', async (t) => {
  t.same(checkPasswordPolicy('kx7#mQp'), { ok: false, code: 'WEAK_PASSWORD', message: 'password must be at least 8 characters long' })
  t.same(checkPasswordPolicy('kx7#mQpz'), { ok: true })
  const long = 'a quiet river bends past old stone mills '.repeat(4)
  t.equal(checkPasswordPolicy(long.slice(0, 128)).ok, true, '128 accepted')
  const tooLong = checkPasswordPolicy(long.slice(0, 129))
  t.equal(tooLong.ok, false, '129 refused')
  t.match(tooLong, { code: 'WEAK_PASSWORD', message: /at most 128/ })

  t.equal(checkPasswordPolicy('😀'.repeat(8)).ok, true, '8 emoji (16 UTF-16 units) accepted')
  t.equal(checkPasswordPolicy('😀'.repeat(4)).ok, false, '4 emoji (8 UTF-16 units) refused')
  t.equal(checkPasswordPolicy('😀'.repeat(128)).ok, true, '128 emoji accepted')
  t.equal(checkPasswordPolicy('😀'.repeat(129)).ok, false, '129 emoji refused')
  t.equal(checkPasswordPolicy('pässwörd-ß字').ok, true, 'any Unicode')
  t.equal(checkPasswordPolicy('aaaaaaaa').ok, false, 'a trivial pattern is in the list')
  t.equal(checkPasswordPolicy('lowercaseonlyplease').ok, true, 'no composition rules')

  t.equal(countCodePoints('😀a'), 2)
  t.equal(countCodePoints('\ud83d'), 1, 'a lone surrogate counts once')
  t.equal(countCodePoints('x'.repeat(1000), 10), 10, 'stops at the limit')
})

t.test('policy: common passwords', async (t) => {
  for (const pw of ['password123', 'qwertyuiop', 'PASSWORD123', 'QwErTyUiOp', 'iloveyou', '12345678', 'summer2024', 'welcome123', 'p@ssw0rd', '1q2w3e4r5t']) {
    t.same(checkPasswordPolicy(pw), { ok: false, code: 'WEAK_PASSWORD', message: 'password is too common' }, pw)
  }
  t.equal(isCommonPassword('Password1'), true)
  t.equal(isCommonPassword('tangerine-octopus-42'), false)
  const list = loadCommonPasswords()
  t.ok(list.size >= 10000, `list has ${list.size} entries`)
  t.equal(loadCommonPasswords(), list, 'loaded once')
  for (const entry of list) {
    if (entry !== entry.toLowerCase() || entry.trim() !== entry || entry === '') {
      t.fail(`entry not normalized: ${JSON.stringify(entry)}`)
      break
    }
  }
})

t.test('policy: username and email', async (t) => {
  const context = { username: 'Grace.Hopper', email: 'Grace.Hopper@Example.com' }
  t.match(checkPasswordPolicy('grace.hopper', context), { ok: false, code: 'WEAK_PASSWORD', message: /username or email/ })
  t.equal(checkPasswordPolicy('GRACE.HOPPER@example.COM', context).ok, false, 'the email')
  t.equal(checkPasswordPolicy('grace.hopper', { email: 'grace.hopper@example.com' }).ok, false, 'the email local part')
  t.equal(checkPasswordPolicy('marvelous-admiral', { username: 'MARVELOUS-ADMIRAL' }).ok, false, 'the username')
  t.equal(checkPasswordPolicy('grace.hopper.cobol', context).ok, true, 'merely containing it is fine')
  t.equal(checkPasswordPolicy('grace.hopper', {}).ok, true)
  t.equal(checkPasswordPolicy('grace.hopper', { email: '', username: '' }).ok, true)
})

t.test('concurrency cap: queued jobs all complete, in any mix of hash and verify', async t => {
  const hasher = createPasswordHasher(OWASP_ARGON2, { maxConcurrent: 1 })
  const hashes = await Promise.all(['one-password', 'two-password', 'three-password'].map(p => hasher.hash(p)))
  const results = await Promise.all([
    hasher.verify(hashes[0], 'one-password'),
    hasher.verify(hashes[1], 'wrong-password'),
    hasher.verifyDummy('anything'),
    hasher.verify(hashes[2], 'three-password')
  ])
  t.same(results, [true, false, false, true])
})
