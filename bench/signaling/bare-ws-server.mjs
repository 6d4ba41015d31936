// The reference: a bare `ws` server holding the same sockets as a Parley node, answering each
// first message (the join) with a short reply, and nothing else; /healthz answers 200 for
// HAProxy's check. Plain JavaScript (no tsx loader), so its memory is Node's and the library's.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const http = createServer((request, response) => {
  response.writeHead(request.url === '/healthz' ? 200 : 404).end();
});
const sockets = new WebSocketServer({ server: http, path: '/ws' });
sockets.on('connection', (socket) => {
  socket.once('message', (data) => {
    const { id } = JSON.parse(String(data));
    socket.send(JSON.stringify({ v: 1, type: 'joined', replyTo: id, participants: [] }));
  });
});
http.listen(Number(process.argv[2]), '127.0.0.1', () => process.stdout.write('listening\n'));
