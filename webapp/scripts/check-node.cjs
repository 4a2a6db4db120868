// Says in one line, before `npm ci`, when this Node cannot build the web UI.
// Plain old JavaScript on purpose: it has to run on the Node it turns away.
// Keep in step with "engines" in package.json (tests/unit/test_webapp_engines.py).
var NEEDED = 'Node 18.19 or newer (18.19+, 20.x or 22+)'
var parts = process.versions.node.split('.').map(Number)
var major = parts[0]
var minor = parts[1]
var ok = (major === 18 && minor >= 19) || major === 20 || major >= 22
if (!ok) {
  console.error('Node ' + process.versions.node + ' cannot build the web UI: it needs ' + NEEDED + '.')
  process.exit(1)
}
