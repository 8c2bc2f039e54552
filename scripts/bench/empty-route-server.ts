// The framework's floor for the ingest benchmark: an express 5 route that
// parses the same JSON body and answers 201, with nothing else behind it.
import express from 'express';

const app = express();
app.use(express.json({ limit: '16mb' }));
app.post('/data', (req, res) => {
  res.status(201).json({ accepted: Array.isArray(req.body) ? req.body.length : 1, lsn: 0 });
});
const server = app.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  console.log(JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
