# Thin wrapper over meson; `./bootstrap` installs what the build needs.
PREFIX ?= /usr/local
BUILD ?= build

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX)

check: all
	tests/run $(BUILD)

asan:
	[ -f build-asan/build.ninja ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
	ninja -C build-asan

install: all
	meson install -C $(BUILD) --destdir="$(DESTDIR)"

demo: all
	scripts/demo $(BUILD)/moat

clean:
	rm -rf $(BUILD) build-asan

.PHONY: all check asan install demo clean
