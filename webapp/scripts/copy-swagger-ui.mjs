// Copies Swagger UI (from the pinned swagger-ui-dist package) next to the web
// app, with our own page that loads the Manager's spec. The Manager serves
// this folder at /api/v3/swagger-ui/.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const source = dirname(require.resolve('swagger-ui-dist/package.json'))
const target = fileURLToPath(new URL('../../flamenco_pkg/webapp_dist/swagger-ui', import.meta.url))

const FILES = [
  'swagger-ui.css',
  'swagger-ui-bundle.js',
  'swagger-ui-standalone-preset.js',
  'favicon-16x16.png',
  'favicon-32x32.png',
  'oauth2-redirect.html',
  'oauth2-redirect.js',
  'NOTICE',
  'swagger-ui-bundle.js.LICENSE.txt',
  'LICENSE',
]

mkdirSync(target, { recursive: true })
for (const name of FILES) copyFileSync(join(source, name), join(target, name))

writeFileSync(join(target, 'index.html'), `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Flamenco Manager API</title>
  <link rel="stylesheet" href="swagger-ui.css">
  <link rel="icon" type="image/png" href="favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="swagger-ui-bundle.js"></script>
  <script src="swagger-ui-standalone-preset.js"></script>
  <script src="init.js"></script>
</body>
</html>
`)

writeFileSync(join(target, 'init.js'), `window.ui = SwaggerUIBundle({
  url: '/api/v3/openapi3.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
})
`)
console.log(`Swagger UI copied to ${target}`)
