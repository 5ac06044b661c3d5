'use strict'
// A minimal AWS Lambda Runtime API client, standing in for the npm aws-lambda-ric (which
// needs a native build):
//
//   AWS_LAMBDA_RUNTIME_API=host:port NODE_PATH=$BENCH_NODE_MODULES node runtime.js MODULE_PATH
//
// Loads the module's `handler` once, then forever: fetches the next event, awaits
// handler(event) and posts its JSON result, or the error if it threw. A module that fails to
// load is reported as an init error. Uses one keep-alive connection, as the real clients do.

const http = require('node:http')
const path = require('node:path')

const API = process.env.AWS_LAMBDA_RUNTIME_API
const BASE = '/2018-06-01/runtime'
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
const [host, port] = (API ?? '').split(':')

/** One request to the Runtime API; resolves to the response's headers and body text. */
function request (method, urlPath, body) {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
    const req = http.request({ host, port, method, path: urlPath, agent, headers }, (res) => {
      const chunks = []
      res.on('data', (chunk) => chunks.push(chunk))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        if (res.statusCode >= 300) reject(new Error(`${method} ${urlPath}: HTTP ${res.statusCode} ${text}`))
        else resolve({ headers: res.headers, body: text })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

function errorBody (error) {
  return JSON.stringify({
    errorType: error?.name ?? 'Error',
    errorMessage: error?.message ?? String(error),
    stackTrace: String(error?.stack ?? '').split('\n')
  })
}

async function main () {
  if (!API || !port) throw new Error('AWS_LAMBDA_RUNTIME_API must be host:port')
  if (process.argv.length !== 3) throw new Error('usage: runtime.js MODULE_PATH')
  let handler
  try {
    ({ handler } = require(path.resolve(process.argv[2])))
    if (typeof handler !== 'function') throw new TypeError(`${process.argv[2]} exports no handler function`)
  } catch (error) {
    await request('POST', `${BASE}/init/error`, errorBody(error))
    throw error
  }
  for (;;) {
    const next = await request('GET', `${BASE}/invocation/next`)
    const id = next.headers['lambda-runtime-aws-request-id']
    let result
    try {
      result = JSON.stringify(await handler(JSON.parse(next.body))) ?? 'null'
    } catch (error) {
      await request('POST', `${BASE}/invocation/${id}/error`, errorBody(error))
      continue
    }
    await request('POST', `${BASE}/invocation/${id}/response`, result)
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
