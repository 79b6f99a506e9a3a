// Copyright (C) 2026 The QtChannel authors. SPDX-License-Identifier: MIT
int main() {
    return 0;
}
