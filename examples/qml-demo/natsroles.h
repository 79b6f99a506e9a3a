// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
#pragma once

// qtchannel-demo --nats URL --role producer|consumer|view|close: the demo's producers,
// consumers and view as separate processes around one NatsChannel (natsroles.cpp).

namespace natsdemo {

// Runs one role; creates the application object itself (a GUI one only for the view).
int run(int &argc, char **argv);

} // namespace natsdemo
