"""PyTorch's examples/time_sequence_prediction, small: two LSTMCells and a Linear in float64 predict sine
waves, trained with LBFGS (a closure), then forecast beyond the input."""

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

rng = np.random.default_rng(5)
T, L, N = 20, 40, 10
x = np.empty((N, L), "int64")
x[:] = np.arange(L) + rng.integers(-4 * T, 4 * T, N).reshape(N, 1)
wave = np.sin(x / 1.0 / T).astype("float64")


class Sequence(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm1 = nn.LSTMCell(1, 16)
        self.lstm2 = nn.LSTMCell(16, 16)
        self.linear = nn.Linear(16, 1)

    def forward(self, input, future=0):
        outputs = []
        h_t = torch.zeros(input.size(0), 16, dtype=torch.double)
        c_t = torch.zeros(input.size(0), 16, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), 16, dtype=torch.double)
        c_t2 = torch.zeros(input.size(0), 16, dtype=torch.double)
        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        return torch.cat(outputs, dim=1)


input = torch.from_numpy(wave[3:, :-1])
target = torch.from_numpy(wave[3:, 1:])
test_input = torch.from_numpy(wave[:3, :-1])
test_target = torch.from_numpy(wave[:3, 1:])
seq = Sequence()
seq.double()
with torch.no_grad():
    for p in seq.parameters():
        p.copy_(torch.from_numpy(rng.uniform(-0.25, 0.25, size=tuple(p.shape))))
criterion = nn.MSELoss()
optimizer = optim.LBFGS(seq.parameters(), lr=0.8)

for i in range(2):
    def closure():
        optimizer.zero_grad()
        out = seq(input)
        loss = criterion(out, target)
        print(f"{loss.item():.8f}")
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        future = 10
        pred = seq(test_input, future=future)
        loss = criterion(pred[:, :-future], test_target)
        print(f"{loss.item():.8f}")
    y = pred.detach().numpy()
print(f"{float(np.abs(y).mean()):.8f}")
