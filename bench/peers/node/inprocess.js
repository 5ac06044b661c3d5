'use strict'
// Measures a Node authorizer's CPU per invocation, in process.
//
//   NODE_PATH=$BENCH_NODE_MODULES node inprocess.js MODULE EVENTS_JSONL OUT_JSON
//       [--rounds R] [--limit N] [--id ID] [--name NAME]
//
// One invocation is what the Lambda runtime does around the handler: JSON.parse(line),
// await handler(event), JSON.stringify(result). After a warm-up pass over up to 1,000 events,
// each of R rounds runs every event once and reports process CPU time (user + system, from
// process.cpuUsage) per invocation. The last round also records each invocation's wall time
// and the decisions; its CPU figure includes that bookkeeping. ID and NAME default to the
// module's `peer`.

const fs = require('node:fs')
const path = require('node:path')
const { parseArgs } = require('node:util')

const WARM_UP_EVENTS = 1000

function cpuMicros () {
  const { user, system } = process.cpuUsage()
  return user + system
}

const round3 = (x) => Math.round(x * 1000) / 1000

async function main () {
  const { values: flags, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      rounds: { type: 'string', default: '5' },
      limit: { type: 'string' },
      id: { type: 'string' },
      name: { type: 'string' }
    }
  })
  if (positionals.length !== 3) {
    throw new Error('usage: inprocess.js MODULE EVENTS_JSONL OUT_JSON [--rounds R] [--limit N] [--id ID] [--name NAME]')
  }
  const [modulePath, eventsPath, outPath] = positionals
  const rounds = Number(flags.rounds)
  const { handler, peer = {} } = require(path.resolve(modulePath))

  const lines = fs.readFileSync(eventsPath, 'utf8').split('\n').filter((line) => line.trim() !== '')
    .slice(0, flags.limit === undefined ? undefined : Number(flags.limit))
  if (lines.length === 0 || !(rounds >= 1)) throw new Error('need at least one event and one round')

  for (const line of lines.slice(0, WARM_UP_EVENTS)) {
    JSON.stringify(await handler(JSON.parse(line)))
  }

  const roundsCpuUs = []
  for (let r = 1; r < rounds; r++) {
    const start = cpuMicros()
    for (const line of lines) {
      JSON.stringify(await handler(JSON.parse(line)))
    }
    roundsCpuUs.push((cpuMicros() - start) / lines.length)
  }

  const wallUs = []
  let allowed = 0
  const start = cpuMicros()
  for (const line of lines) {
    const began = process.hrtime.bigint()
    const result = await handler(JSON.parse(line))
    JSON.stringify(result)
    wallUs.push(Number(process.hrtime.bigint() - began) / 1000)
    if (result.isAuthorized) allowed++
  }
  roundsCpuUs.push((cpuMicros() - start) / lines.length)

  const report = {
    id: flags.id ?? peer.id,
    name: flags.name ?? peer.name,
    invocations: lines.length,
    rounds_cpu_us: roundsCpuUs.map(round3),
    wall_us: wallUs.map(round3),
    allowed,
    denied: lines.length - allowed
  }
  fs.writeFileSync(outPath, JSON.stringify(report))
}

main().catch((error) => {
  console.error(error.message)
  process.exit(1)
})
